#!/bin/sh
# Benign: writes release files, records their SHA-256 sums and verifies them.
set -eu
mkdir -p release
for name in tool.tar cli.tar docs.tar; do echo "$name contents" > "release/$name"; done
(cd release && sha256sum *.tar > SHA256SUMS && sha256sum -c SHA256SUMS)
