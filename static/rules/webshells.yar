// Web shells: server-side scripts that run what an HTTP request tells them to. Each rule needs
// a code-execution sink fed directly from request data, which ordinary web code does not do.

rule webshell_php_request_exec
{
    meta:
        description = "PHP web shell: runs code or commands taken from the request"
        severity = "high"
        category = "persistence"
        attack = "T1505.003"
    strings:
        // eval($_POST['x']), system($_GET["c"]), assert(base64_decode($_REQUEST[...])) ...
        $sink = /\b(eval|assert|system|shell_exec|passthru|exec|popen|proc_open|pcntl_exec|create_function)\s*\(\s*(@\s*)?((base64_decode|gzinflate|str_rot13|stripslashes|urldecode)\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\s*\[/ nocase
        // `$_GET[...]` in backticks is shell execution too.
        $backtick = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^`]{0,100}`/
    condition:
        any of them
}

rule webshell_jsp_request_exec
{
    meta:
        description = "JSP web shell: Runtime.exec or ProcessBuilder fed from request.getParameter"
        severity = "high"
        category = "persistence"
        attack = "T1505.003"
    strings:
        $exec = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(\s*request\s*\.\s*getParameter/
        $builder = /new\s+ProcessBuilder\s*\([^)]{0,100}request\s*\.\s*getParameter/
    condition:
        any of them
}

rule webshell_aspx_request_exec
{
    meta:
        description = "ASP/ASPX web shell: eval or Process.Start fed from the request (China Chopper and kin)"
        severity = "high"
        category = "persistence"
        attack = "T1505.003"
    strings:
        $chopper = /eval\s*\(\s*Request(\.Item)?\s*[\[(]/ nocase
        $start = /Process\s*\.\s*Start\s*\([^;]{0,200}Request(\.Form|\.QueryString|\.Item)?\s*[\[(]/ nocase
        $execute = /\bExecute(Global)?\s*\(?\s*Request(\.Form|\.QueryString|\.Item)?\s*[\[(]/ nocase
    condition:
        any of them
}
