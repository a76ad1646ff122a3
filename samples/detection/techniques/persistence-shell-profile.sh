#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: relaunches an agent from the shell start-up files (T1546.004).
# Inert: the agent prints a line; it writes only inside $HOME, /etc/profile.d is refused.
mkdir -p "$HOME/.local/bin"
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS session agent\n' > "$HOME/.local/bin/session-agent"
chmod 755 "$HOME/.local/bin/session-agent"
for rc in .bashrc .profile .zshrc; do
  echo '( "$HOME/.local/bin/session-agent" >/dev/null 2>&1 & )' >> "$HOME/$rc"
done
echo "$HOME/.local/bin/session-agent >/dev/null 2>&1 &" > /etc/profile.d/session-agent.sh 2>/dev/null ||
  echo "profile.d: refused"
exit 0
