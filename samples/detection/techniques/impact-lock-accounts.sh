#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: locks the administrators out: locks root, expires and deletes an
# admin account, and sets root a password only the attacker knows (T1531).
# Inert: every account change is refused to the sandbox user (with or without sudo).
sudo passwd -l root 2>/dev/null || passwd -l root 2>/dev/null || echo "passwd -l: refused"
sudo usermod --expiredate 1 admin 2>/dev/null || echo "usermod: refused"
sudo userdel -r admin 2>/dev/null || echo "userdel: refused"
echo 'root:SANDTRAP-TEST-only' | sudo chpasswd 2>/dev/null || echo "chpasswd: refused"
exit 0
