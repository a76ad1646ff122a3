#!/bin/bash
# SANDTRAP-TEST-MALICIOUS: erases the user's shell history and stops it being written (T1070.003).
# Inert: only the sandbox user's own history files in $HOME are touched.
history -c
unset HISTFILE
export HISTFILESIZE=0 HISTSIZE=0
rm -f "$HOME/.bash_history"
ln -sf /dev/null "$HOME/.bash_history"
cat /dev/null > "$HOME/.zsh_history"
echo "history cleared"
exit 0
