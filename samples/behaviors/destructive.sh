#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: ransomware-like sample. Inert: it creates its own victim files in its
# working directory, "encrypts" them by renaming, leaves a note and deletes the originals' copies.
echo "SANDTRAP-TEST-MALICIOUS destructive sample"
mkdir -p victims
i=0
while [ $i -lt 25 ]; do
  echo "document $i" > "victims/doc$i.txt"
  i=$((i + 1))
done
for f in victims/*.txt; do
  cp "$f" "$f.bak"
  mv "$f" "$f.sandtrap-locked"
done
rm -f victims/*.bak
echo "SANDTRAP-TEST-MALICIOUS: your files are renamed, nothing else" > victims/README_RESTORE_FILES.txt
: > "$HOME/.bash_history"
exit 0
