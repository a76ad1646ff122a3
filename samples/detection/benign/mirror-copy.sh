#!/bin/sh
# Benign: mirrors a directory (rsync when present, cp otherwise) and verifies the copy.
set -eu
mkdir -p site/css site/img
echo "<h1>home</h1>" > site/index.html
echo "body { margin: 0 }" > site/css/main.css
head -c 4096 /dev/zero > site/img/pixel.bin
if command -v rsync >/dev/null; then rsync -a --delete site/ mirror/; else mkdir -p mirror && cp -a site/. mirror/; fi
diff -r site mirror && echo "mirror in sync"
