#!/usr/bin/env python3
# Benign: spreads a computation over a small pool of worker processes.
from multiprocessing import Pool


def collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


if __name__ == "__main__":
    with Pool(4) as pool:
        steps = pool.map(collatz_steps, range(1, 2001))
    print("longest chain below 2001:", max(steps))
