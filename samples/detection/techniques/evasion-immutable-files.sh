#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: unlocks a protected file to plant a preload, and opens up the account
# database (T1222.002).
# Inert: chattr and chmod on files in /etc are refused to the sandbox user.
sudo chattr -i /etc/ld.so.preload 2>/dev/null || chattr -i /etc/ld.so.preload 2>/dev/null || echo "chattr: refused"
chmod 666 /etc/passwd 2>/dev/null || echo "chmod: refused"
exit 0
