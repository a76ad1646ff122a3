#!/bin/sh
# SANDTRAP-TEST-SUSPICIOUS: searches for files that usually hold credentials, to collect later (T1552.001).
# Inert: it only lists paths; nothing is read or sent.
find "$HOME" /root /home /opt /srv -maxdepth 4 \( -name credentials -o -name '.git-credentials' -o -name '.netrc' \
  -o -name '*.kdbx' -o -name 'wp-config.php' -o -name '.pgpass' -o -name '*.ovpn' \) 2>/dev/null > ./found.txt
find "$HOME" -path '*/.aws/*' -name credentials 2>/dev/null >> ./found.txt
find "$HOME" -path '*/.docker/*' -name config.json 2>/dev/null >> ./found.txt
wc -l < ./found.txt
exit 0
