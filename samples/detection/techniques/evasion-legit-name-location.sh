#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: hides its payload under a system daemon's name in a system-like
# directory (T1036.005).
# Inert: the payload prints a line and stays inside $HOME.
dir="$HOME/.local/lib/systemd"
mkdir -p "$dir"
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS journald lookalike\n' > "$dir/systemd-journald"
chmod 755 "$dir/systemd-journald"
touch -r /bin/sh "$dir/systemd-journald"
"$dir/systemd-journald" &
wait
exit 0
