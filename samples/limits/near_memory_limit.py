#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: six processes of 72 MiB each, 432 MiB resident in all: under the agent's
# default 512 MiB limit for the whole sample, so nothing stops it; what a task must hold beside the
# agent. Touches only its own memory, then sleeps.
import os
import sys
import time

CHILDREN = 6
children = []
for n in range(CHILDREN):
    pid = os.fork()
    if pid == 0:
        # Allocated after the fork and written: private, resident pages, 8 MiB at a time.
        blocks = []
        for _ in range(9):
            blocks.append(bytearray(b"\x5a") * (8 << 20))
            time.sleep(0.05)
        print(f"child {n} holds {8 * len(blocks)} MiB", flush=True)
        time.sleep(60)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
sys.exit(0)
