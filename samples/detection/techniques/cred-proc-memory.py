#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS: scrapes credentials from other processes' memory via /proc/<pid>/mem (T1003.007).
# Inert: only its own child (holding a fake secret) is readable; every other process is refused.
import os
import re
import subprocess
import sys
import time

child = subprocess.Popen(
    [sys.executable, "-c", "import time; s = 'password=' + 'hunter2' * 3; time.sleep(3)"]
)
time.sleep(0.5)
found = 0
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
            for line in maps:
                fields = line.split()
                if "rw" not in fields[1] or (len(fields) > 5 and not fields[5].startswith("[")):
                    continue
                start, end = (int(x, 16) for x in fields[0].split("-"))
                mem.seek(start)
                try:
                    chunk = mem.read(min(end - start, 4 << 20))
                except OSError:
                    continue
                found += len(re.findall(rb"password=\w+", chunk))
    except OSError:
        continue
child.kill()
print("matches:", found)
