#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: installs and enables a systemd service that restarts its payload (T1543.002).
# Inert: the payload prints a line; the user unit lives in $HOME, the system unit directory is refused.
mkdir -p "$HOME/.config/systemd/user" "$HOME/.local/bin"
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS service payload\n' > "$HOME/.local/bin/dbus-broker-helper"
chmod 755 "$HOME/.local/bin/dbus-broker-helper"
cat > "$HOME/.config/systemd/user/dbus-broker-helper.service" <<UNIT
[Unit]
Description=D-Bus Broker Helper

[Service]
ExecStart=$HOME/.local/bin/dbus-broker-helper
Restart=always
RestartSec=60

[Install]
WantedBy=default.target
UNIT
systemctl --user daemon-reload 2>/dev/null
systemctl --user enable --now dbus-broker-helper.service 2>/dev/null || echo "systemctl --user: unavailable"
sudo cp "$HOME/.config/systemd/user/dbus-broker-helper.service" /etc/systemd/system/ 2>/dev/null ||
  echo "system unit: refused"
sudo systemctl enable dbus-broker-helper.service 2>/dev/null || true
exit 0
