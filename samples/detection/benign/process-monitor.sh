#!/bin/sh
# Benign: a watchdog that lists the biggest processes and checks that its worker is running.
for round in 1 2 3; do
  ps -eo pid,comm,%cpu,rss --sort=-rss | head -n 5
  if pgrep -x worker >/dev/null; then echo "worker up"; else echo "worker not running (round $round)"; fi
  pgrep -c sh >/dev/null || true
  sleep 0.3
done
