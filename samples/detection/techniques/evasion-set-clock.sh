#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: turns the system clock back so the files it drops look old, then
# restores it (T1070.006).
# Inert: setting the clock needs CAP_SYS_TIME, refused to the sandbox user.
now=$(date +%m%d%H%M%Y)
date 010100002019 2>/dev/null || echo "date: refused"
printf 'SANDTRAP-TEST-MALICIOUS\n' >./dropped.txt
date "$now" 2>/dev/null || true
exit 0
