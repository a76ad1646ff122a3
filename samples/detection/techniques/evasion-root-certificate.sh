#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: makes its own certificate authority and adds it to the system trust
# store, so that its interception proxy and signed tools are trusted (T1553.004).
# Inert: the trust store is refused to the sandbox user; the key and certificate stay in the
# working directory.
openssl req -x509 -newkey rsa:2048 -nodes -keyout ./ca.key -out ./ca.crt -days 1 \
  -subj "/CN=SANDTRAP-TEST Root CA" 2>/dev/null
cp ./ca.crt /usr/local/share/ca-certificates/sandtrap-test.crt 2>/dev/null || echo "ca-certificates: refused"
update-ca-certificates 2>/dev/null || echo "update-ca-certificates: refused"
exit 0
