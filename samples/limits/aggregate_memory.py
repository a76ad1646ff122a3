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
        # Allocated after the fork and written byte by byte: private, resident pages.
        block = bytearray(b"\x5a") * (48 << 20)
        print(f"child {n} holds {len(block) >> 20} MiB", flush=True)
        time.sleep(60)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
sys.exit(0)
