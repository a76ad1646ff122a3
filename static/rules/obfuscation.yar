// Script obfuscation: encoded payloads handed to an interpreter, and code built from character
// codes. Encoding alone is common (data URIs, certificates); each rule needs the execution part.

rule obfuscation_eval_encoded_blob
{
    meta:
        description = "Long base64 blob decoded and passed to eval (PHP or JavaScript)"
        severity = "high"
        category = "evasion"
        attack = "T1027, T1059"
    strings:
        $eval = /\b(eval|assert)\s*\(\s*(gzinflate\s*\(\s*|gzuncompress\s*\(\s*|str_rot13\s*\(\s*)*(base64_decode|atob)\s*\(\s*["'][A-Za-z0-9+\/=]{100}/ nocase
    condition:
        $eval
}

rule obfuscation_base64_pipe_to_shell
{
    meta:
        description = "Base64 text decoded and piped into a shell (base64 -d | sh)"
        severity = "high"
        category = "evasion"
        attack = "T1027, T1059.004"
    strings:
        $pipe = /base64\s+(-d|--decode|-D)\b[^\n|]{0,200}\|\s*(sudo\s+)?(ba|da|z|k)?sh\b/
    condition:
        $pipe
}

rule obfuscation_powershell_frombase64
{
    meta:
        description = "PowerShell decodes base64 and runs the result with Invoke-Expression"
        severity = "medium"
        category = "evasion"
        attack = "T1027, T1059.001"
    strings:
        $decode = "FromBase64String" ascii wide nocase
        $run1 = /\biex\b/ ascii wide nocase
        $run2 = "Invoke-Expression" ascii wide nocase
    condition:
        $decode and any of ($run*)
}

rule obfuscation_char_code_chain
{
    meta:
        description = "Code built from long chains of character codes (fromCharCode, Chr(), [char])"
        severity = "medium"
        category = "evasion"
        attack = "T1027"
    strings:
        $js = /fromCharCode\s*\(\s*\d{1,3}(\s*,\s*\d{1,3}){20}/
        $vb = /Chr[WB$]?\(\s*\d{1,3}\s*\)\s*[&+]\s*Chr[WB$]?\(\s*\d{1,3}\s*\)\s*[&+]\s*Chr[WB$]?\(\s*\d{1,3}\s*\)\s*[&+]\s*Chr[WB$]?\(\s*\d{1,3}\s*\)\s*[&+]\s*Chr[WB$]?\(\s*\d{1,3}\s*\)/ nocase
        $ps = /\[char\]\s*\d{1,3}\s*\+\s*\[char\]\s*\d{1,3}\s*\+\s*\[char\]\s*\d{1,3}\s*\+\s*\[char\]\s*\d{1,3}\s*\+\s*\[char\]\s*\d{1,3}/ nocase
    condition:
        $js or #vb >= 3 or #ps >= 3
}
