#!/usr/bin/env python3
# Benign: computes a few statistics and writes a small report in its working directory.
import json
import statistics

values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
summary = {"mean": statistics.mean(values), "median": statistics.median(values), "max": max(values)}
with open("summary.json", "w") as out:
    json.dump(summary, out)
with open("summary.json") as back:
    print(json.load(back))
