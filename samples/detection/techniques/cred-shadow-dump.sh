#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: dumps the password hashes from /etc/shadow (T1003.008).
# Inert: /etc/shadow and /etc/gshadow are refused to the sandbox user.
cat /etc/shadow 2>/dev/null || sudo cat /etc/shadow 2>/dev/null || echo "shadow: refused"
cp /etc/shadow ./shadow.bak 2>/dev/null || echo "shadow copy: refused"
cat /etc/gshadow 2>/dev/null || echo "gshadow: refused"
unshadow /etc/passwd /etc/shadow > ./hashes.txt 2>/dev/null || echo "unshadow: unavailable"
exit 0
