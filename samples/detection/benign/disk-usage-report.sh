#!/bin/sh
# Benign: reports free space and the largest entries of the home and working directories.
df -h . | tail -n 1
du -sh "$HOME" 2>/dev/null
mkdir -p data && head -c 200000 /dev/zero > data/blob.bin
du -ah . 2>/dev/null | sort -rh | head -n 5
find . -type f -size +100k -exec ls -lh {} \; | awk '{print $5, $9}'
rm -rf data
