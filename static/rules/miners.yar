// Cryptocurrency miners: mining-pool URLs and XMRig's command-line and banner strings.

rule miner_stratum_url
{
    meta:
        description = "Mining pool URL (stratum protocol)"
        severity = "high"
        category = "cryptomining"
        attack = "T1496"
    strings:
        $stratum = /stratum\+(tcp|ssl|tls):\/\// ascii wide nocase
    condition:
        $stratum
}

rule miner_xmrig
{
    meta:
        description = "XMRig miner (or a script configuring it)"
        severity = "high"
        category = "cryptomining"
        attack = "T1496"
        threat = "CoinMiner.XMRig"
        family = "xmrig"
        confidence = "medium"
    strings:
        $name = "xmrig" ascii wide nocase
        $donate = "--donate-level" ascii wide
        $algo1 = "randomx" ascii wide nocase
        $algo2 = "cryptonight" ascii wide nocase
        $pool = "\"pools\"" ascii
    condition:
        $name and any of ($donate, $algo1, $algo2, $pool)
}

rule miner_donate_level
{
    meta:
        description = "Miner command line (--donate-level is specific to XMRig-style miners)"
        severity = "medium"
        category = "cryptomining"
        attack = "T1496"
    strings:
        $donate = /--donate-level[= ]\d/ ascii wide
    condition:
        $donate
}
