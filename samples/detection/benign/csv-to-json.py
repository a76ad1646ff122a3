#!/usr/bin/env python3
# Benign: converts a CSV export to JSON and prints totals per region.
import csv
import json
from collections import defaultdict

rows = [
    ("region", "product", "units"),
    ("north", "widget", "12"),
    ("south", "widget", "7"),
    ("north", "gadget", "3"),
    ("east", "gadget", "9"),
]
with open("sales.csv", "w", newline="") as out:
    csv.writer(out).writerows(rows)
with open("sales.csv", newline="") as src:
    records = [dict(r, units=int(r["units"])) for r in csv.DictReader(src)]
with open("sales.json", "w") as out:
    json.dump(records, out, indent=2)
totals = defaultdict(int)
for r in records:
    totals[r["region"]] += r["units"]
print(json.dumps(totals, sort_keys=True))
