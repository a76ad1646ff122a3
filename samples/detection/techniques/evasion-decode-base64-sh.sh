#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: decodes a base64 stage and runs it with the shell (T1140, T1059.004).
# Inert: the stage prints a line and the user id.
stage='ZWNobyAiU0FORFRSQVAtVEVTVC1NQUxJQ0lPVVMgZGVjb2RlZCBzdGFnZSI7IGlkIC11Cg=='
echo "$stage" | base64 -d | sh
echo "$stage" | base64 --decode > ./.stage && bash ./.stage
rm -f ./.stage
exit 0
