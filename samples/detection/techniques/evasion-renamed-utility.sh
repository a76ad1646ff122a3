#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: runs a shell under an innocuous name, so that process listings and
# rules keyed on "sh" miss it (T1036.003).
# Inert: the copy stays in the working directory and prints a line.
cp /bin/sh ./notify-agent
./notify-agent -c 'echo SANDTRAP-TEST-MALICIOUS renamed shell'
exit 0
