#!/usr/bin/env python3
# Benign: loads measurements into a SQLite file and prints a daily report.
import sqlite3

db = sqlite3.connect("metrics.db")
db.execute("create table if not exists m (day text, name text, value real)")
db.executemany(
    "insert into m values (?, ?, ?)",
    [("2026-12-01", "latency", 120), ("2026-12-01", "latency", 80), ("2026-12-02", "latency", 95)],
)
db.commit()
for day, avg in db.execute("select day, avg(value) from m group by day order by day"):
    print(day, round(avg, 1))
db.close()
