#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: asks for 1 GiB at once (the memory limit refuses it).
hog = bytearray(1 << 30)
print(len(hog))
