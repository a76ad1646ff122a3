#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: writes a second-stage script and runs it through the interpreter (T1059.004).
# Inert: the stage prints a line and the host name.
mkdir -p "$HOME/.cache"
cat > "$HOME/.cache/.s.sh" <<'STAGE'
echo "SANDTRAP-TEST-MALICIOUS second stage"
uname -n
STAGE
sh "$HOME/.cache/.s.sh"
bash -c "$(cat "$HOME/.cache/.s.sh")"
rm -f "$HOME/.cache/.s.sh"
exit 0
