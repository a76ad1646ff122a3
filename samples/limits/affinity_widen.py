#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: undoes the CPU pinning it was started with (sched_setaffinity to every
# CPU), then burns CPU in two processes, reporting the affinity each has now and then.
import os
import time

every = set(range(os.cpu_count() or 1))
print("started on", sorted(os.sched_getaffinity(0)), flush=True)
os.sched_setaffinity(0, every)
print("widened to", sorted(os.sched_getaffinity(0)), flush=True)
for n in range(2):
    if os.fork() == 0:
        next_report = time.monotonic() + 0.5
        x = 0
        while True:
            x += 1
            if time.monotonic() >= next_report:
                print(f"burner {n} now on", sorted(os.sched_getaffinity(0)), flush=True)
                next_report += 0.5
os.wait()
os.wait()
