"""PDF triage in the style of Didier Stevens' pdfid: count the names that make a PDF active.

pdfid is the reference for this check. It is not used as a library because the only PyPI
package (`pdfid` 1.1.3, a third-party repackaging of pdfid 0.2.7, last released in June 2023) is
not maintained alongside the upstream tool and is unsuited to running in-process on hostile
input: it prints to stdout and calls `sys.exit()` on errors (this engine's stdout is its JSON
contract), opens a URL when given a name starting with `http`, and walks the file one byte at a
time in Python. The same idea fits in a few regular expressions over the bytes: names are
matched with their `#xx` escapes decoded (`/J#61vaScript` is `/JavaScript`, a classic evasion),
and object streams (`/ObjStm`, which hide dictionaries inside compressed data) are inflated
within the unpacking budget and counted too.

Limits, by design: no full object parser, so a name split across incremental updates or hidden
in other encodings (ASCIIHex, LZW) is not seen; the findings say "this PDF can act", not what
the JavaScript does.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter

from .budget import Budget
from .report import Report, finding, printable

# A PDF name: a slash then regular characters or #xx escapes (PDF 1.7, 7.3.5), at most 127 long.
_NAME = re.compile(rb"/(?:[^\s()<>\[\]{}/%#]|#[0-9A-Fa-f]{2}){1,127}")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_OBJ = re.compile(rb"(\d{1,10})\s+(\d{1,5})\s+obj\b")
_STREAM = re.compile(rb"stream\r?\n")

KEYWORDS = (
    "/JavaScript",
    "/JS",
    "/OpenAction",
    "/AA",
    "/Launch",
    "/EmbeddedFile",
    "/XFA",
    "/URI",
    "/ObjStm",
    "/AcroForm",
    "/RichMedia",
)
MAX_NAMES = 1_000_000
MAX_SNIPPETS = 3
MAX_OBJECT_STREAMS = 64
MAX_OBJECT_STREAM_BYTES = 8 * 1024 * 1024


class _Counts:
    def __init__(self) -> None:
        self.names: Counter[str] = Counter()
        self.hex_escaped: Counter[str] = Counter()
        self.snippets: dict[str, list[str]] = {}
        self.object_streams: list[int] = []


def _object_snippet(data: bytes, offset: int) -> str:
    """The object around a name, starting at its `N G obj` header when that is close."""
    window_start = max(0, offset - 1024)
    headers = list(_OBJ.finditer(data, window_start, offset))
    if headers:
        start = headers[-1].start()
        label = f"obj {int(headers[-1].group(1))} {int(headers[-1].group(2))}: "
    else:
        start = max(0, offset - 60)
        label = f"at {offset}: "
    end = data.find(b"endobj", offset, offset + 200)
    end = end + len(b"endobj") if end >= 0 else min(len(data), offset + 120)
    return label + " ".join(printable(data[start : min(end, start + 260)], 260).split())


def _count(data: bytes, counts: _Counts, where: str, budget: Budget) -> None:
    for index, match in enumerate(_NAME.finditer(data)):
        if index >= MAX_NAMES:
            break
        if index % 10_000 == 0:
            budget.check_time()
        raw = match.group()
        name = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")
        if name not in KEYWORDS:
            continue
        counts.names[name] += 1
        if b"#" in raw:
            counts.hex_escaped[name] += 1
        snippets = counts.snippets.setdefault(name, [])
        if len(snippets) < MAX_SNIPPETS:
            snippets.append(where + _object_snippet(data, match.start()))
        if name == "/ObjStm" and len(counts.object_streams) < MAX_OBJECT_STREAMS and not where:
            counts.object_streams.append(match.end())


def _inflate_object_stream(data: bytes, after: int, budget: Budget) -> bytes | None:
    """The inflated stream that follows an /ObjStm dictionary, within the unpacking budget."""
    stream = _STREAM.search(data, after, after + 4096)
    if not stream:
        return None
    end = data.find(b"endstream", stream.end())
    body = data[stream.end() : end if end >= 0 else len(data)]
    limit = min(MAX_OBJECT_STREAM_BYTES, budget.bytes_left + 1)
    try:
        inflated = zlib.decompressobj().decompress(body, limit)
    except zlib.error:
        return None
    budget.take_bytes(len(inflated), "PDF object stream")
    return inflated


def scan(data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    counts = _Counts()
    _count(data, counts, "", budget)
    for index, offset in enumerate(counts.object_streams):
        budget.check_time()
        inflated = _inflate_object_stream(data, offset, budget)
        if inflated:
            _count(inflated, counts, f"object stream {index + 1}, ", budget)

    def evidence(*names: str) -> list[str]:
        lines = [f"{n}: {counts.names[n]}" for n in names if counts.names[n]]
        for n in names:
            lines.extend(s for s in counts.snippets.get(n, []) if s not in lines)
        return lines

    names = counts.names
    javascript = names["/JavaScript"] + names["/JS"]
    if javascript:
        report.add(
            finding(
                "pdf.javascript",
                "execution",
                # Forms use JavaScript too; running it on open (below) is what weighs.
                "medium",
                "PDF contains JavaScript",
                evidence("/JavaScript", "/JS"),
                ["T1059.007"],
            ),
            path,
        )
    if javascript and names["/OpenAction"] + names["/AA"]:
        report.add(
            finding(
                "pdf.auto-javascript",
                "execution",
                "high",
                "PDF runs JavaScript automatically (OpenAction or additional actions)",
                evidence("/OpenAction", "/AA"),
                ["T1059.007"],
            ),
            path,
        )
        report.add_heuristic_threat("Heuristic.PDF.AutoJavaScript", "document", path, "low")
    if names["/Launch"]:
        report.add(
            finding(
                "pdf.launch",
                "execution",
                "high",
                "PDF has a Launch action (runs a program or opens a file)",
                evidence("/Launch"),
                ["T1204.002"],
            ),
            path,
        )
    if names["/EmbeddedFile"]:
        report.add(
            finding(
                "pdf.embedded-file",
                "evasion",
                "medium",
                "PDF carries embedded files",
                evidence("/EmbeddedFile"),
                ["T1027.009"],
            ),
            path,
        )
    if names["/XFA"]:
        report.add(
            finding("pdf.xfa", "execution", "medium", "PDF has an XFA form", evidence("/XFA"), ["T1059.007"]),
            path,
        )
    if names["/URI"]:
        report.add(
            finding("pdf.uri", "network", "low", "PDF links to URIs", evidence("/URI"), ["T1204.001"]),
            path,
        )
    if counts.hex_escaped:
        report.add(
            finding(
                "pdf.obfuscated-names",
                "evasion",
                "medium",
                "PDF hides active names with #xx escapes",
                [f"{n}: {c} escaped" for n, c in counts.hex_escaped.items()],
                ["T1027"],
            ),
            path,
        )
