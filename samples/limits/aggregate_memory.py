#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: five processes of 48 MiB each. Each stays under a 128 MiB per-process
# limit; together they hold about 240 MiB. Touches only its own memory, then sleeps.
import os
import sys
import time

CHILDREN = 5
children = []
for n in range(CHILDREN):
    pid = os.fork()
    if pid == 0:
        # Allocated after the fork and written: private, resident pages, 8 MiB at a time.
        blocks = []
        for _ in range(6):
            blocks.append(bytearray(b"\x5a") * (8 << 20))
            print(f"child {n} holds {8 * len(blocks)} MiB", flush=True)
            time.sleep(0.1)
        time.sleep(60)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
sys.exit(0)
