// Reverse shells: a shell whose input and output are wired to a network socket, so that a
// remote operator drives the machine. Each rule pairs the socket with the shell plumbing.

rule reverse_shell_dev_tcp
{
    meta:
        description = "Reverse shell through bash's /dev/tcp redirection"
        severity = "high"
        category = "network"
        attack = "T1059.004, T1095"
    strings:
        $dev_tcp = /\/dev\/(tcp|udp)\/[^\s\/]{1,253}\/\d{1,5}/
        $interactive = /\b(ba|da|z|k)?sh\s+-i\b/
        $redirect1 = "0>&1"
        $redirect2 = ">&"
        $exec_fd = /\bexec\s+\d+<>/
    condition:
        $dev_tcp and any of ($interactive, $redirect1, $redirect2, $exec_fd)
}

rule reverse_shell_netcat_exec
{
    meta:
        description = "Reverse shell: netcat running a shell for the remote end (nc -e)"
        severity = "high"
        category = "network"
        attack = "T1059.004, T1095"
    strings:
        $nc = /\b(nc|ncat|netcat)(\.exe)?\s[^\n]{0,100}-(e|c)\s*["']?(\/bin\/(ba|da|z)?sh|cmd(\.exe)?|powershell)/ nocase
        $mkfifo = /mkfifo\s[^\n]{0,100}\|\s*(\/bin\/)?(ba)?sh\s+-i[^\n]{0,100}\|\s*(nc|ncat)\b/
    condition:
        any of them
}

rule reverse_shell_python
{
    meta:
        description = "Reverse shell in Python: a socket duplicated onto stdin/stdout or handed to a pty"
        severity = "high"
        category = "network"
        attack = "T1059.006, T1095"
    strings:
        $socket = "socket.socket("
        $connect = ".connect(("
        $dup2 = "os.dup2("
        $pty = "pty.spawn("
        $shell = /["']\/bin\/(ba)?sh["']/
    condition:
        $socket and $connect and ($pty or (#dup2 >= 2 and $shell))
}

rule reverse_shell_perl
{
    meta:
        description = "Reverse shell in Perl: socket opened onto STDIN/STDOUT then exec of a shell"
        severity = "high"
        category = "network"
        attack = "T1059.006, T1095"
    strings:
        $socket = /socket\s*\(\s*S\s*,\s*PF_INET/
        $open = /open\s*\(\s*STDIN\s*,\s*["']>&S/
        $exec = /exec\s*\(?\s*["']\/bin\/(ba)?sh/
    condition:
        all of them
}
