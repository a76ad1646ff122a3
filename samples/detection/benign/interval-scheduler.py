#!/usr/bin/env python3
# Benign: a cron-free scheduler that runs two jobs at fixed intervals for a short while.
import time

runs = {"heartbeat": 0, "flush": 0}


def heartbeat():
    runs["heartbeat"] += 1


def flush():
    runs["flush"] += 1
    with open("flushed.txt", "a") as out:
        out.write(f"flush {runs['flush']}\n")


jobs = [(0.2, heartbeat), (0.5, flush)]
next_run = {job: 0.0 for _, job in jobs}
start = time.monotonic()
while time.monotonic() - start < 1.5:
    now = time.monotonic() - start
    for interval, job in jobs:
        if now >= next_run[job]:
            job()
            next_run[job] = now + interval
    time.sleep(0.05)
print(runs)
