#!/bin/sh
# Benign but slow: says hello, then sleeps far longer than any detonation (idle timeout test).
echo "awake"
sleep 120
