#!/bin/sh
# Benign: a build-script-like sample: makes a scratch directory, writes and reads a file, tidies up.
set -e
mkdir -p build
echo "hello from a benign script" > build/out.txt
wc -c build/out.txt
ls -l build > /dev/null
rm -r build
echo done
