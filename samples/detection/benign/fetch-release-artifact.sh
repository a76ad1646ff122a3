#!/bin/sh
# Benign: downloads a release archive from the artifact store and installs it only if its checksum
# matches the pinned one (here it does not, so nothing is installed).
set -u
mkdir -p dist
curl -fsSL -m 5 -o dist/tool-1.4.2.tar.gz http://artifacts.example.test/tool/1.4.2/tool-1.4.2.tar.gz || echo "download failed"
pinned=3f0e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f
actual=$(sha256sum dist/tool-1.4.2.tar.gz 2>/dev/null | cut -d' ' -f1)
if [ "$actual" = "$pinned" ]; then tar xzf dist/tool-1.4.2.tar.gz -C dist; else echo "checksum mismatch: not installing"; fi
rm -f dist/tool-1.4.2.tar.gz
