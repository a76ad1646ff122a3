#!/bin/sh
# SANDTRAP-TEST-SUSPICIOUS: greps configuration and home files for passwords and keys (T1552.001).
# Inert: matches are kept in the working directory only; unreadable files are skipped.
grep -rniE 'password|passwd|secret_?key|api_?key|token' "$HOME" /etc 2>/dev/null | head -n 50 > ./matches.txt
grep -rlE 'aws_secret_access_key' "$HOME" 2>/dev/null >> ./matches.txt
wc -l < ./matches.txt
exit 0
