#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: 20,005 empty files in a directory that sorts first, then 36 MiB in
# three 12 MiB files elsewhere in its home (each under the file size limit). Writes only in $HOME.
import os
import time

os.makedirs("a-many", exist_ok=True)
for n in range(20005):
    open(f"a-many/{n:05d}", "w").close()
print("small files written", flush=True)
os.makedirs("z-bulk", exist_ok=True)
block = b"\x5a" * (1 << 20)
for part in range(3):
    with open(f"z-bulk/part{part}", "wb") as out:
        for _ in range(12):
            out.write(block)
print("bulk written", flush=True)
time.sleep(60)
