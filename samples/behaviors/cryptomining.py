#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: cryptominer-like sample. Inert: it resolves a pool name of the fake
# resolver, speaks one stratum request to the fake network and burns CPU for half a second.
import json
import socket
import time

print("SANDTRAP-TEST-MALICIOUS cryptomining sample")
try:
    with socket.create_connection(("pool.example-mining.test", 3333), timeout=3) as pool:
        for request in (
            {"id": 1, "method": "mining.subscribe", "params": ["SANDTRAP-TEST-MALICIOUS-miner/1.0"]},
            {"id": 2, "method": "mining.authorize", "params": ["sandtrap-test-wallet", "x"]},
        ):
            pool.sendall((json.dumps(request) + "\n").encode())
        time.sleep(0.5)
except OSError as error:
    print("pool:", error)
deadline = time.time() + 0.5
hashes = 0
while time.time() < deadline:
    hashes = (hashes * 31 + 7) % 1000003
print("done", hashes)
