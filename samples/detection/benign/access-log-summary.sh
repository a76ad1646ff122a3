#!/bin/sh
# Benign: summarises a web access log with sed and awk (top clients, status codes).
set -eu
for i in 1 2 3 4 5 6 7 8; do
  echo "192.0.2.$((i % 3 + 1)) - - [04/Dec/2026:10:0$i:00 +0000] \"GET /page/$i HTTP/1.1\" $((200 + (i % 2) * 204)) 512"
done > access.txt
awk '{ print $1 }' access.txt | sort | uniq -c | sort -rn
sed -n 's/.*" \([0-9][0-9][0-9]\) .*/\1/p' access.txt | sort | uniq -c
sed 's/192\.0\.2\.[0-9]*/client/' access.txt | head -n 2
