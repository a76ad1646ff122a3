#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: hides a shell script in a file named like a picture and runs it with
# the shell (T1036.008).
# Inert: the script prints a line and stays in the working directory.
printf 'echo SANDTRAP-TEST-MALICIOUS picture that runs\n' >./holiday.png
sh ./holiday.png
exit 0
