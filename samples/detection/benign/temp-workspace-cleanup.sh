#!/bin/sh
# Benign: works in a temporary directory of its own and removes it on exit.
set -eu
work=$(mktemp -d "$PWD/job.XXXXXX")
trap 'rm -rf "$work"' EXIT
seq 1 500 > "$work/numbers.txt"
awk '{ s += $1 } END { print "sum", s }' "$work/numbers.txt"
split -l 100 "$work/numbers.txt" "$work/part."
ls "$work" | wc -l
