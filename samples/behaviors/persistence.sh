#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: persistence sample. Inert: it only writes inside its own HOME;
# the system locations it tries are refused to the sandbox user.
echo "SANDTRAP-TEST-MALICIOUS persistence sample"
# Shell start-up: a harmless line in ~/.bashrc.
echo 'echo SANDTRAP-TEST-MALICIOUS-bashrc' >> "$HOME/.bashrc"
# A crontab-like file in HOME, then an attempt to install it and a system one.
echo '*/5 * * * * echo SANDTRAP-TEST-MALICIOUS-cron' > "$HOME/sandtrap-test.cron"
crontab "$HOME/sandtrap-test.cron" 2>/dev/null || true
echo '*/5 * * * * root true' > /etc/cron.d/sandtrap-test 2>/dev/null || true
# A desktop autostart entry, in HOME.
mkdir -p "$HOME/.config/autostart"
printf '[Desktop Entry]\nName=sandtrap-test\nExec=true\n' > "$HOME/.config/autostart/sandtrap-test.desktop"
exit 0
