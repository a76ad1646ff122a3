#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: fork storm. Forks until the process limit refuses, children sleep.
import os
import time

failed = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except BlockingIOError:
        failed += 1
print("forks refused:", failed, flush=True)
time.sleep(60)
