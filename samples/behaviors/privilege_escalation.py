#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: privilege-escalation sample. Inert: every attempt is refused to the
# sandbox user (no_new_privs, no capabilities); the setuid bit goes on a copy in its own directory.
import os
import shutil
import subprocess

print("SANDTRAP-TEST-MALICIOUS privilege escalation sample")
shutil.copy("/bin/true", "helper")
os.chmod("helper", 0o4755)  # setuid bit on its own file: allowed, and useless under no_new_privs
try:
    os.setuid(0)
except PermissionError as error:
    print("setuid(0):", error)
try:
    subprocess.run(["sudo", "-n", "true"], check=False)
except OSError as error:
    print("sudo:", error)
try:
    with open("/etc/sudoers.d/sandtrap-test", "w") as sudoers:
        sudoers.write("sandbox ALL=(ALL) NOPASSWD: ALL\n")
except OSError as error:
    print("sudoers:", error)
