#!/bin/bash
# SANDTRAP-TEST-MALICIOUS: runs its worker under a kernel thread's name so that process listings
# overlook it (T1036.004).
# Inert: the worker is `sleep`; the rename needs no privilege and touches no other process.
cp /bin/sleep ./kworker
(exec -a '[kworker/0:2-events]' ./kworker 1) &
python3 -c "import ctypes; ctypes.CDLL(None).prctl(15, b'kworker/0:2', 0, 0, 0); print(open('/proc/self/comm').read().strip())"
wait
rm -f ./kworker
exit 0
