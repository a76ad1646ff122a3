#!/bin/sh
# Benign: keeps the three newest nightly backups and deletes the older ones.
set -eu
mkdir -p nightly
for d in 01 02 03 04 05 06 07 08 09 10 11 12; do
  echo "backup $d" | gzip > "nightly/db-2026-11-$d.sql.gz"
  touch -d "2026-11-$d 02:00" "nightly/db-2026-11-$d.sql.gz"
done
ls -1t nightly/*.sql.gz | tail -n +4 | while read -r old; do rm -f "$old"; echo "pruned $old"; done
ls nightly | wc -l
