#!/bin/sh
# Benign: makes a dated tar.gz backup of a project directory and checks it.
set -eu
mkdir -p project/src backups
for i in 1 2 3 4; do echo "module $i" > "project/src/mod$i.txt"; done
echo "# project" > project/README.md
archive="backups/project-$(date -u +%Y%m%d).tar.gz"
tar czf "$archive" project
gzip -t "$archive"
tar tzf "$archive" | wc -l
sha256sum "$archive" > "$archive.sha256"
