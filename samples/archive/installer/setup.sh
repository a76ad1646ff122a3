#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: the executable member of the archive sample: a ~/.bashrc line (persistence).
echo "SANDTRAP-TEST-MALICIOUS archive member"
echo 'echo SANDTRAP-TEST-MALICIOUS-archive' >> "$HOME/.bashrc"
