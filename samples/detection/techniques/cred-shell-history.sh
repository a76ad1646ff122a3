#!/bin/sh
# SANDTRAP-TEST-SUSPICIOUS: mines shell histories for typed passwords and tokens (T1552.003).
# Inert: other users' histories are refused; matches stay in the working directory.
for h in "$HOME"/.bash_history "$HOME"/.zsh_history "$HOME"/.*_history /root/.bash_history /home/*/.bash_history; do
  [ -r "$h" ] && grep -iE 'pass|token|secret|mysql .*-p|curl .*-u |sshpass|AWS_' "$h" >> ./history-secrets.txt
done 2>/dev/null
cat "$HOME/.bash_history" 2>/dev/null | tail -n 20 > /dev/null
wc -l < ./history-secrets.txt 2>/dev/null || echo 0
exit 0
