#!/bin/sh
# Benign: rotates an application log the way logrotate does (app.log -> app.log.1 ... app.log.5).
set -eu
mkdir -p logs
rotate() {
  rm -f logs/app.log.5
  for i in 4 3 2 1; do
    [ -f "logs/app.log.$i" ] && mv "logs/app.log.$i" "logs/app.log.$((i + 1))"
  done
  mv logs/app.log logs/app.log.1
  : > logs/app.log
}
for day in 1 2 3 4 5 6; do
  for n in 1 2 3; do echo "$(date -u +%FT%TZ) day=$day request=$n status=200" >> logs/app.log; done
  rotate
done
ls logs
