#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: starts a payload at boot from rc.local and a SysV init script (T1037.004).
# Inert: the payload prints a line; /etc/rc.local and /etc/init.d are refused to the sandbox user.
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS boot payload\n' > ./netcheck
chmod +x ./netcheck
printf '#!/bin/sh -e\n%s/netcheck &\nexit 0\n' "$PWD" | sudo tee /etc/rc.local >/dev/null 2>&1 ||
  printf '%s/netcheck &\n' "$PWD" >> /etc/rc.local 2>/dev/null || echo "rc.local: refused"
sudo chmod +x /etc/rc.local 2>/dev/null
cat > ./netcheck.init <<INIT
#!/bin/sh
### BEGIN INIT INFO
# Provides:          netcheck
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
### END INIT INFO
$PWD/netcheck &
INIT
sudo cp ./netcheck.init /etc/init.d/netcheck 2>/dev/null || cp ./netcheck.init /etc/init.d/netcheck 2>/dev/null ||
  echo "init.d: refused"
sudo update-rc.d netcheck defaults 2>/dev/null || true
exit 0
