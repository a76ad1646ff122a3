#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: runs a trusted program with a hooking library preloaded through the
# environment, so the hook runs inside it (T1574.006).
# Inert: the library only prints a line from its constructor.
cat > ./hook.c <<'SRC'
#include <stdio.h>
__attribute__((constructor)) static void hook(void) { fputs("SANDTRAP-TEST-MALICIOUS hooked\n", stderr); }
SRC
gcc -shared -fPIC -o ./libprocesshider.so ./hook.c 2>/dev/null || echo "gcc: unavailable"
rm -f ./hook.c
LD_PRELOAD="$PWD/libprocesshider.so" ls / >/dev/null
export LD_PRELOAD="$PWD/libprocesshider.so"
ps -e >/dev/null 2>&1
exit 0
