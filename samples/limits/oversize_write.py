#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: writes a 64 MiB file in its working directory (the file size limit stops it).
block = b"\0" * (1 << 20)
with open("big.bin", "wb") as out:
    for _ in range(64):
        out.write(block)
