#!/bin/sh
# Benign: a test suite's setup that decodes base64 fixtures into data files and checks them.
set -eu
mkdir -p fixtures
printf 'id,name\n1,alpha\n2,beta\n' | base64 > fixtures/users.csv.b64
printf '{"ok": true}\n' | base64 > fixtures/status.json.b64
for f in fixtures/*.b64; do base64 -d "$f" > "${f%.b64}"; done
grep -c , fixtures/users.csv
python3 -c 'import json; print(json.load(open("fixtures/status.json"))["ok"])'
