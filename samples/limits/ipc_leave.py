#!/usr/bin/env python3
# SANDTRAP-TEST-SUSPICIOUS: leaves a SysV shared-memory segment (key 0x5A4D0001, readable by anyone)
# and a lock file in /run/lock, each holding a marker, for a later run to find; tries to leave a
# POSIX message queue too.
import ctypes
import os

IPC_CREAT = 0o1000
KEY = 0x5A4D0001
MARKER = b"sandtrap-limits-ipc-marker"
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
shmid = libc.shmget(KEY, 4096, IPC_CREAT | 0o666)
if shmid < 0:
    print("shm refused:", os.strerror(ctypes.get_errno()), flush=True)
else:
    address = libc.shmat(shmid, None, 0)
    ctypes.memmove(address, MARKER, len(MARKER))
    print("shm created", shmid, flush=True)
try:
    with open("/run/lock/sandtrap-limits-probe.lock", "wb") as lock:
        lock.write(MARKER)
    os.chmod("/run/lock/sandtrap-limits-probe.lock", 0o644)
    print("lock written", flush=True)
except OSError as error:
    print("lock refused:", error, flush=True)
mqd = libc.mq_open(b"/sandtrap-limits-probe", os.O_CREAT | os.O_RDWR, 0o666, None)
if mqd < 0:
    print("mqueue refused:", os.strerror(ctypes.get_errno()), flush=True)
else:
    print("mqueue created", flush=True)
