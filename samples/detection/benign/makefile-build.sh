#!/bin/sh
# Benign: a Makefile-driven build with a check target that runs the program.
set -eu
cat > main.c <<'SRC'
#include <stdio.h>
int main(void) { printf("build ok\n"); return 0; }
SRC
printf 'CFLAGS=-O2 -Wall\nall: app\napp: main.c\n\t$(CC) $(CFLAGS) -o $@ main.c\ncheck: app\n\t./app\nclean:\n\trm -f app\n.PHONY: all check clean\n' > Makefile
make -s
make -s check
make -s clean
