#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: reboots the host to interrupt its service after the damage (T1529).
# Inert: rebooting is refused to the sandbox user (systemd asks for authentication, the SysRq
# trigger is root's), and only systemctl is asked: shutdown and reboot are not run.
sudo systemctl --force reboot 2>/dev/null || systemctl reboot 2>/dev/null || echo "reboot: refused"
{ echo b >/proc/sysrq-trigger; } 2>/dev/null || echo "sysrq: refused"
exit 0
