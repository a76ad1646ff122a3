"""Text heuristics for scripts: encoded PowerShell, download-and-run, hidden windows, WScript.Shell.

YARA finds fixed patterns; these checks need a little logic that YARA cannot express, above all
decoding a PowerShell `-EncodedCommand` argument (base64 of UTF-16LE) so that what it runs is
shown in the evidence and checked in turn. All regular expressions use bounded repetitions so
that a crafted line cannot make them backtrack for long.
"""

from __future__ import annotations

import base64
import binascii
import re

from .budget import Budget
from .filetype import decode_text
from .report import Report, clip, finding

MAX_TEXT = 8 * 1024 * 1024
MAX_ENCODED = 64
MAX_DECODED_CHARS = 64 * 1024

# PowerShell accepts any unambiguous prefix of -EncodedCommand (and -ec), with - or /.
_ENCODED = re.compile(
    r"(?<![\w-])[-/](?:ec|e(?:n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:nd?)?)?)?)?)?)?)?)?)?)?)?)?)"
    r"\s+[\"']?([A-Za-z0-9+/]{12,100000}={0,2})",
    re.IGNORECASE,
)
_DOWNLOAD_EXEC = (
    re.compile(r"\b(?:curl|wget)\b[^\n|;]{0,300}\|\s*(?:sudo\s+)?(?:ba|da|z|k|a)?sh\b", re.IGNORECASE),
    re.compile(
        r"\biex\b[^\n]{0,40}New-Object\s+(?:System\.)?Net\.WebClient\s*\)?\s*\.\s*Download(?:String|Data)",
        re.IGNORECASE,
    ),
    re.compile(
        r"New-Object\s+(?:System\.)?Net\.WebClient\s*\)?\s*\.\s*DownloadString[^\n]{0,300}\|\s*(?:iex|Invoke-Expression)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:Invoke-WebRequest|iwr|Invoke-RestMethod|irm)\b[^\n|]{0,300}\|\s*(?:iex|Invoke-Expression)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\bcertutil(?:\.exe)?\b[^\n]{0,100}[-/]urlcache\b", re.IGNORECASE),
)
_HIDDEN_POWERSHELL = re.compile(
    r"\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]{0,200}?\s[-/]w(?:i(?:n(?:d(?:o(?:w(?:s(?:t(?:y(?:l(?:e)?)?)?)?)?)?)?)?)?)?"
    r"\s+[\"']?(?:h(?:i(?:d(?:d(?:e(?:n)?)?)?)?)?|1)\b",
    re.IGNORECASE,
)
_WSCRIPT_SHELL = re.compile(r"CreateObject\s*\(\s*[\"']WScript\.Shell[\"']\s*\)", re.IGNORECASE)
_RUN_EXEC = re.compile(r"\.\s*(?:Run|Exec)\b", re.IGNORECASE)


def _line_at(text: str, start: int, end: int) -> str:
    """The line around a match, cut to a window around it (minified scripts are one long line)."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - 80)
    line_end = text.find("\n", end)
    line_end = min(line_end if line_end >= 0 else len(text), end + 160)
    return text[line_start:line_end].strip()


def _decode_powershell(argument: str) -> str | None:
    """The command behind a base64 argument, if it really is base64 of UTF-16LE text."""
    padded = argument + "=" * (-len(argument) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 8 or len(raw) % 2:
        return None
    text = raw.decode("utf-16-le", "replace")
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    # Random base64 (a path, a hash) decodes to CJK soup: real commands are mostly ASCII.
    ascii_share = sum(1 for ch in text if ord(ch) < 128) / len(text)
    if printable / len(text) < 0.9 or ascii_share < 0.9:
        return None
    return text[:MAX_DECODED_CHARS]


def _check(text: str, path: str | None, report: Report, origin: str = "") -> None:
    prefix = f"{origin}: " if origin else ""
    for pattern in _DOWNLOAD_EXEC:
        for index, match in enumerate(pattern.finditer(text)):
            if index >= 5:
                break
            report.add(
                finding(
                    "script.download-exec",
                    "network",
                    "high",
                    "Script downloads code and runs it",
                    [prefix + _line_at(text, match.start(), match.end())],
                    ["T1105", "T1059"],
                ),
                path,
            )
            report.add_heuristic_threat("Heuristic.Script.DownloadExec", "downloader", path)
    for index, match in enumerate(_HIDDEN_POWERSHELL.finditer(text)):
        if index >= 5:
            break
        report.add(
            finding(
                "script.hidden-powershell",
                "evasion",
                "medium",
                "Starts PowerShell with a hidden window",
                [prefix + _line_at(text, match.start(), match.end())],
                ["T1564.003", "T1059.001"],
            ),
            path,
        )
    shell = _WSCRIPT_SHELL.search(text)
    if shell and _RUN_EXEC.search(text):
        report.add(
            finding(
                "script.wscript-shell",
                "execution",
                "medium",
                "Script runs commands through WScript.Shell",
                [prefix + _line_at(text, shell.start(), shell.end())],
                ["T1059.005"],
            ),
            path,
        )


def scan(data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    text = decode_text(data, MAX_TEXT)
    _check(text, path, report)
    for index, match in enumerate(_ENCODED.finditer(text)):
        if index >= MAX_ENCODED:
            break
        budget.check_time()
        decoded = _decode_powershell(match.group(1))
        if decoded is None:
            continue
        report.add(
            finding(
                "script.powershell-encoded",
                "execution",
                "high",
                "PowerShell runs a base64-encoded command",
                [
                    clip(text[max(0, match.start() - 40) : match.start() + 60].strip(), 120),
                    "decoded: " + " ".join(decoded.split()),
                ],
                ["T1059.001", "T1027"],
            ),
            path,
        )
        # What the encoded command does is checked like any script text.
        _check(decoded, path, report, origin="decoded -EncodedCommand")
