// Downloaders and droppers: code that fetches a payload from the network and runs it.

rule downloader_pipe_to_shell
{
    meta:
        description = "Downloads a script and pipes it straight into a shell (curl|wget ... | sh)"
        severity = "high"
        category = "network"
        attack = "T1105, T1059.004"
    strings:
        $pipe = /\b(curl|wget)\s[^\n|;]{0,300}\|\s*(sudo\s+)?(\/bin\/|\/usr\/bin\/)?(ba|da|z|k|a)?sh\b/
    condition:
        $pipe
}

rule downloader_powershell_cradle
{
    meta:
        description = "PowerShell download cradle: web request whose result is run with Invoke-Expression"
        severity = "high"
        category = "network"
        attack = "T1105, T1059.001"
    strings:
        $download1 = "Invoke-WebRequest" ascii wide nocase
        $download2 = "DownloadString" ascii wide nocase
        $download3 = "Invoke-RestMethod" ascii wide nocase
        $download4 = /\biwr\s/ ascii wide nocase
        $run1 = /\biex\b/ ascii wide nocase
        $run2 = "Invoke-Expression" ascii wide nocase
    condition:
        any of ($download*) and any of ($run*)
}

rule downloader_certutil
{
    meta:
        description = "certutil used to download a file (-urlcache), a living-off-the-land downloader"
        severity = "high"
        category = "network"
        attack = "T1105, T1218"
    strings:
        $certutil = /certutil(\.exe)?\s[^\n]{0,100}[-\/]urlcache/ ascii wide nocase
    condition:
        $certutil
}

rule downloader_urldownloadtofile
{
    meta:
        description = "Uses URLDownloadToFile (urlmon) to fetch a file"
        severity = "medium"
        category = "network"
        attack = "T1105"
    strings:
        $api = "URLDownloadToFile" ascii wide nocase
    condition:
        $api
}
