#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: switches SELinux to permissive and off at the next boot, and unloads
# AppArmor (T1562.001).
# Inert: every change needs root and is refused to the sandbox user.
getenforce 2>/dev/null || echo "getenforce: unavailable"
sudo setenforce 0 2>/dev/null || setenforce 0 2>/dev/null || echo "setenforce: refused"
sudo sed -i 's/^SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config 2>/dev/null || echo "selinux config: refused"
sudo systemctl stop apparmor 2>/dev/null || systemctl stop apparmor 2>/dev/null || echo "apparmor: refused"
sudo systemctl disable apparmor 2>/dev/null || true
exit 0
