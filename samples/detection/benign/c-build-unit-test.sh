#!/bin/sh
# Benign: builds a small C library with gcc and runs its unit-test binary.
set -eu
mkdir -p src tests build
cat > src/stats.c <<'SRC'
double mean(const double *xs, int n) { double s = 0; for (int i = 0; i < n; i++) s += xs[i]; return n ? s / n : 0; }
SRC
cat > tests/test_stats.c <<'SRC'
#include <stdio.h>
double mean(const double *xs, int n);
int main(void) {
  double xs[] = {1, 2, 3, 4};
  if (mean(xs, 4) != 2.5) { puts("FAIL mean"); return 1; }
  puts("1 test passed");
  return 0;
}
SRC
gcc -Wall -O2 -c src/stats.c -o build/stats.o
ar rcs build/libstats.a build/stats.o
gcc -Wall -O2 tests/test_stats.c build/libstats.a -o build/test_stats
./build/test_stats
