#!/bin/sh
# SANDTRAP-TEST-SUSPICIOUS: an endless busy loop.
while :; do :; done
