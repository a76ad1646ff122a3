#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: logs what the user types: reads the keyboard device and hooks the shell
# prompt so that each command line is copied out (T1056.001).
# Inert: input devices are refused to the sandbox user; the hooked shell runs one echo.
timeout 4 cat /dev/input/event0 >./keys 2>/dev/null || echo "input device: refused"
PROMPT_COMMAND='history 1 >>/tmp/.k 2>/dev/null' timeout 4 bash -c 'echo SANDTRAP-TEST-MALICIOUS hooked'
exit 0
