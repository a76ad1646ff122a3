#!/bin/sh
# Stand-in for update-rc.d. Enabling a System V script links it into /etc/rc?.d; the stand-in
# tries that as the unprivileged user, so the refused attempt shows in the trace, and answers as
# root (through sudo) or a non-root user would. Only shell built-ins run here.
name=
action=
for arg in "$@"; do
  case $arg in
    -f | -n) ;;
    *) if [ -z "$name" ]; then name=$arg; elif [ -z "$action" ]; then action=$arg; fi ;;
  esac
done
if [ -z "$name" ] || [ -z "$action" ]; then
  echo "usage: update-rc.d [-f] <basename> remove" >&2
  echo "       update-rc.d [-f] <basename> defaults|defaults-disabled|disable|enable" >&2
  exit 1
fi
if [ "$action" != remove ] && ! [ -f "/etc/init.d/$name" ]; then
  echo "update-rc.d: error: unable to read /etc/init.d/$name" >&2
  exit 1
fi
case $action in
  defaults | enable)
    for level in 2 3 4 5; do { true >"/etc/rc$level.d/S01$name"; } 2>/dev/null; done ;;
esac
[ -n "${SUDO_USER:-}" ] && exit 0
echo "update-rc.d: error: Permission denied" >&2
exit 1
