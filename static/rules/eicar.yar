// The EICAR anti-virus test file: 68 harmless bytes that every scanner reports, used to check
// that detections flow end to end. The string is split in two patterns (prefix at 0, the rest
// at 28) so that this rule file itself never contains the test string in one piece.
rule eicar_test_file
{
    meta:
        description = "EICAR anti-virus test file"
        // Critical: it scores 90 (malicious) alone, as every scanner reports it as a detection.
        severity = "critical"
        category = "test-file"
        threat = "EICAR-Test-File"
        confidence = "high"
    strings:
        $head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
        $tail = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        // The standard allows trailing whitespace up to 128 bytes in all.
        $head at 0 and $tail at 28 and filesize <= 128
}
