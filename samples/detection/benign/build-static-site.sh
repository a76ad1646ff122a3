#!/bin/sh
# Benign: turns a few text pages into HTML and pre-compresses them for the web server.
set -eu
mkdir -p content public
printf 'Home\nWelcome to the site.\n' > content/index.txt
printf 'About\nWho we are.\n' > content/about.txt
for page in content/*.txt; do
  name=$(basename "$page" .txt)
  { echo "<html><head><title>$(head -n 1 "$page")</title></head><body>"
    sed -n '2,$p' "$page" | sed 's|.*|<p>&</p>|'
    echo "</body></html>"; } > "public/$name.html"
  gzip -kf "public/$name.html"
done
ls public
