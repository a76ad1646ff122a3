#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: takes what the user copied and what is on the screen (T1115, T1113).
# Inert: the sandbox has no display; where the tools are missing the attempt is all there is.
xclip -o -selection clipboard >./clip.txt 2>/dev/null || xsel --clipboard >./clip.txt 2>/dev/null || echo "clipboard: none"
xwd -root -silent -out ./screen.xwd 2>/dev/null || import -window root ./screen.png 2>/dev/null || echo "screen: none"
exit 0
