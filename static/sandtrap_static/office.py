"""Office documents: VBA/XLM macros (oletools olevba), OOXML template injection and DDE, RTF objects.

olevba is the reference extractor for VBA in OLE (doc/xls/ppt) and OOXML (docm/xlsm/pptm)
files and ships the keyword lists analysts expect (AutoExec, Suspicious, IOC). It reads from
memory (`data=`), which also means it does not try VBA-stomping detection (pcodedmp needs a
file); that is accepted. The OOXML checks that olevba does not do (remote templates, external
objects, DDE fields) read the parts with the stdlib zipfile, with bounded sizes, and use regular
expressions rather than an XML parser: no entity expansion, no surprises from hostile XML.
"""

from __future__ import annotations

import html
import io
import re
import zipfile

from .archives import read_limited
from .budget import Budget, BudgetExceeded
from .report import Report, clip, finding

MAX_MODULES = 20
EXCERPT_LINES = 6
MAX_PART_BYTES = 8 * 1024 * 1024
# All parts read for the OOXML checks together (they are transient, not analysed members).
MAX_TOTAL_PART_BYTES = 64 * 1024 * 1024
MAX_PARTS = 256
MAX_EMBEDDINGS = 16
MAX_RTF_OBJECTS = 32

# olevba "Suspicious" keywords that mean the macro runs, downloads or injects something: high.
# Others (string functions, file I/O, environment) are only medium on their own.
_KEYWORD_ATTACK = (
    ("powershell", "T1059.001"),
    ("cmd", "T1059.003"),
    ("wscript.shell", "T1059.005"),
    ("shell", "T1059.005"),
    ("run", "T1059.005"),
    ("exec", "T1059.005"),
    ("callbyname", "T1059.005"),
    ("createobject", "T1559.001"),
    ("getobject", "T1559.001"),
    ("urldownloadtofile", "T1105"),
    ("xmlhttp", "T1105"),
    ("winhttp", "T1105"),
    ("adodb.stream", "T1105"),
    ("savetofile", "T1105"),
    ("virtualalloc", "T1055"),
    ("rtlmovememory", "T1055"),
    ("createthread", "T1055"),
    ("xlm macro", "T1059.005"),
    ("vba stomping", "T1027"),
)
# AutoExec and AutoExit macros run when Word itself starts or exits (global templates such as
# Normal.dotm): that is Office application startup persistence (T1137). AutoOpen, Document_Open
# and friends run when the user opens this document: user execution (T1204.002).
_STARTUP_AUTOEXEC = frozenset({"autoexec", "autoexit", "auto_exec"})
_OBFUSCATION_TYPES = frozenset({"hex string", "base64 string", "dridex string", "vba string", "vba obfuscated strings"})

_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]{0,4096})>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb'(\w+)\s*=\s*"([^"]{0,2048})"')
_INSTR_TEXT = re.compile(rb"<w:instrText\b[^>]{0,512}>([^<]{0,8192})</w:instrText>")
_FLD_SIMPLE = re.compile(rb'<w:fldSimple\b[^>]{0,512}?\bw:instr="([^"]{0,8192})"')
_DDE = re.compile(r"\bDDE(?:AUTO)?\b", re.IGNORECASE)
_EXCEL_DDE_LINK = re.compile(rb"<(?:\w+:)?ddeLink\b[^>]{0,2048}>")
_EXCEL_DDE_FORMULA = re.compile(rb"<f\b[^>]{0,256}>\s*=?\s*[A-Za-z0-9_.]{1,32}\|[^<]{0,300}</f>")
_REMOTE_TARGET = re.compile(r"^\s*(?:https?:|ftp:|file:|mhtml:|\\\\|//)", re.IGNORECASE)


# --- VBA and XLM macros (olevba) ---------------------------------------------------------------


def _excerpt(module_name: str, code: str) -> str:
    lines = [
        line.strip()
        for line in code.splitlines()[:200]
        if line.strip() and not line.lstrip().startswith("Attribute VB_")
    ]
    return f"{module_name}: " + " | ".join(lines[:EXCERPT_LINES])


def scan_macros(data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    """olevba over an OLE or OOXML document: macros, AutoExec, suspicious keywords, IOCs."""
    from oletools.olevba import VBA_Parser  # imported lazily: oletools is the slowest import here

    # The file name olevba gets is a constant: it only labels output, but a few olevba paths
    # (decryption, the optional XLM deobfuscator) open `filename` from disk, and the sample's
    # original name is attacker-chosen. The bytes always come from `data`.
    parser = VBA_Parser("sample", data=data, disable_pcode=True)
    try:
        if not parser.detect_macros():
            return
        budget.check_time()
        excerpts = []
        for index, (_, _stream, module_name, code) in enumerate(parser.extract_macros()):
            if index >= MAX_MODULES:
                break
            if code and code.strip():
                excerpts.append(_excerpt(str(module_name), str(code)))
        budget.check_time()
        results = parser.analyze_macros() or []
    finally:
        parser.close()

    report.add(
        finding(
            "office.macros",
            "execution",
            "medium",
            "Document contains macros",
            excerpts or ["macros detected (no source extracted)"],
            ["T1204.002"],
        ),
        path,
    )
    by_type: dict[str, list[tuple[str, str]]] = {}
    for kind, keyword, description in results[:500]:
        by_type.setdefault(str(kind).lower(), []).append((str(keyword), str(description)))

    autoexec = by_type.get("autoexec", [])
    if autoexec:
        startup = any(k.lower() in _STARTUP_AUTOEXEC for k, _ in autoexec)
        report.add(
            finding(
                "office.autoexec",
                "execution",
                "high",
                "Macros run automatically",
                [f"{k}: {d}" for k, d in autoexec],
                ["T1204.002", *(["T1137"] if startup else [])],
            ),
            path,
        )
    suspicious = by_type.get("suspicious", [])
    if suspicious:
        attack = {t for k, _ in suspicious for word, t in _KEYWORD_ATTACK if word in k.lower()}
        report.add(
            finding(
                "office.suspicious",
                "execution",
                "high" if attack else "medium",
                "Macros use suspicious keywords",
                [f"{k}: {d}" for k, d in suspicious],
                attack or ["T1059.005"],
            ),
            path,
        )
    if autoexec and suspicious:
        # The combination a malicious document is made of (run on open, then shell out, download
        # or write files): named as a heuristic threat, so that consumers matching on threat names
        # see it as they see a signature's.
        report.add_heuristic_threat("Heuristic.Office.AutoExecMacro", "macro", path)
    iocs = by_type.get("ioc", [])
    if iocs:
        report.add(
            finding(
                "office.ioc",
                "network",
                "medium",
                "Macros contain indicators (URLs, IP addresses, executable names)",
                [f"{d}: {k}" for k, d in iocs],
                ["T1105"] if any("url" in d.lower() for _, d in iocs) else [],
            ),
            path,
        )
    obfuscated = [item for kind, items in by_type.items() if kind in _OBFUSCATION_TYPES for item in items]
    if obfuscated:
        report.add(
            finding(
                "office.obfuscated-strings",
                "evasion",
                "medium",
                "Macros contain encoded strings",
                [f"{d}: {k}" for k, d in obfuscated],
                ["T1027"],
            ),
            path,
        )


def check_macro_budget(data: bytes, budget: Budget) -> None:
    """olevba reads every OLE part of an OOXML zip fully; refuse a zip whose parts cannot fit.

    zipfile never returns more than a member's declared size, so declared sizes bound olevba.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        declared = sum(info.file_size for info in archive.infolist()[:100_000])
    budget.check_declared(declared, "the document's parts")


def scan_ole_encryption(data: bytes, path: str | None, report: Report) -> None:
    """An encrypted OOXML document is an OLE file with an EncryptedPackage stream: nothing to scan."""
    import olefile

    # A file object, never bytes: olefile treats bytes shorter than 1536 bytes as a file name.
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        encrypted = ole.exists("EncryptedPackage")
    finally:
        ole.close()
    if encrypted:
        report.encrypted = True
        report.add(
            finding(
                "office.encrypted",
                "evasion",
                "medium",
                "Office document is encrypted: its content was not analysed",
                ["EncryptedPackage stream"],
                ["T1027.013"],
            ),
            path,
        )


# --- OOXML parts -------------------------------------------------------------------------------


class _PartReader:
    """Reads OOXML parts with a cap per part and for the whole document."""

    def __init__(self, archive: zipfile.ZipFile, budget: Budget) -> None:
        self.archive = archive
        self.budget = budget
        self.left = MAX_TOTAL_PART_BYTES

    def read(self, info: zipfile.ZipInfo) -> bytes | None:
        if info.file_size > min(MAX_PART_BYTES, self.left) or info.flag_bits & 0x1:
            return None
        with self.archive.open(info) as stream:
            try:
                part = read_limited(stream, min(MAX_PART_BYTES, self.left), self.budget, info.filename)
            except BudgetExceeded as exceeded:
                if exceeded.which == "time":
                    raise
                return None
        self.left -= len(part)
        return part


def _relationships(part: bytes) -> list[dict[str, str]]:
    found = []
    for match in _RELATIONSHIP.finditer(part):
        pairs = _ATTRIBUTE.findall(match.group(1))
        found.append({k.decode("latin-1"): html.unescape(v.decode("utf-8", "replace")) for k, v in pairs})
    return found


def _field_codes(part: bytes) -> str:
    """Field instructions in document order; Word splits one field over many instrText runs."""
    pieces = [m.group(1) for m in _INSTR_TEXT.finditer(part)]
    pieces += [b" " + m.group(1) + b" " for m in _FLD_SIMPLE.finditer(part)]
    return html.unescape(b"".join(pieces).decode("utf-8", "replace"))


def scan_ooxml(data: bytes, path: str | None, report: Report, budget: Budget) -> list[tuple[str, bytes]]:
    """Remote templates and objects, DDE; returns embedded objects for recursive analysis."""
    embedded: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = _PartReader(archive, budget)
        for index, info in enumerate(archive.infolist()):
            if index >= MAX_PARTS:
                break
            budget.check_time()
            name = info.filename
            lower = name.lower()
            if lower.endswith(".rels"):
                part = parts.read(info)
                if part:
                    _check_relationships(name, part, path, report)
            elif lower.startswith(("word/", "xl/")) and lower.endswith(".xml"):
                part = parts.read(info)
                if part:
                    _check_dde(name, part, path, report)
            elif "/embeddings/" in lower and len(embedded) < MAX_EMBEDDINGS:
                part = parts.read(info)
                if part:
                    embedded.append((name, part))
    return embedded


def _check_relationships(part_name: str, part: bytes, path: str | None, report: Report) -> None:
    for relationship in _relationships(part):
        if relationship.get("TargetMode", "").lower() != "external":
            continue
        kind = relationship.get("Type", "").rsplit("/", 1)[-1]
        target = relationship.get("Target", "")
        evidence = [f"{part_name}: {kind} -> {target}"]
        if kind == "attachedTemplate" and _REMOTE_TARGET.search(target):
            report.add(
                finding(
                    "office.template-injection",
                    "execution",
                    "high",
                    "Document loads a remote template (template injection)",
                    evidence,
                    ["T1221"],
                ),
                path,
            )
        elif kind in ("oleObject", "frame", "subDocument") and _REMOTE_TARGET.search(target):
            # Follina (CVE-2022-30190) and its kin: an external object fetched when the file opens.
            report.add(
                finding(
                    "office.external-object",
                    "execution",
                    "high",
                    "Document loads a remote object when opened",
                    evidence,
                    ["T1221"],
                ),
                path,
            )


def _check_dde(part_name: str, part: bytes, path: str | None, report: Report) -> None:
    codes = _field_codes(part)
    match = _DDE.search(codes)
    evidence = []
    if match:
        evidence.append(f"{part_name}: " + " ".join(codes[match.start() : match.start() + 250].split()))
    for link in _EXCEL_DDE_LINK.finditer(part):
        evidence.append(f"{part_name}: " + link.group().decode("utf-8", "replace"))
        break
    for formula in _EXCEL_DDE_FORMULA.finditer(part):
        evidence.append(f"{part_name}: " + html.unescape(formula.group().decode("utf-8", "replace")))
        break
    if evidence:
        report.add(
            finding(
                "office.dde",
                "execution",
                "high",
                "Document uses Dynamic Data Exchange to run a command",
                evidence,
                ["T1559.002"],
            ),
            path,
        )


# --- RTF ---------------------------------------------------------------------------------------


def scan_rtf(data: bytes, path: str | None, report: Report, budget: Budget) -> list[tuple[str, bytes]]:
    """Embedded OLE objects and packages (oletools rtfobj); returns them for recursive analysis."""
    from oletools.rtfobj import RtfObjParser

    parser = RtfObjParser(data)
    parser.parse()
    budget.check_time()
    embedded: list[tuple[str, bytes]] = []
    objects: list[str] = []
    for index, obj in enumerate(parser.objects[:MAX_RTF_OBJECTS]):
        if obj.is_ole:
            class_name = (obj.class_name or b"").decode("latin-1", "replace").strip("\x00")
            objects.append(f"object {index}: OLE class {class_name!r}, {obj.oledata_size or 0} bytes")
            if class_name.lower().startswith("equation."):
                report.add(
                    finding(
                        "rtf.equation-editor",
                        "execution",
                        "high",
                        "RTF embeds an Equation Editor object (CVE-2017-11882 and kin)",
                        [objects[-1]],
                        ["T1203"],
                    ),
                    path,
                )
            if obj.is_package:
                filename = str(obj.filename or "package")
                report.add(
                    finding(
                        "rtf.package",
                        "execution",
                        "high",
                        "RTF embeds a file package the user can be lured into opening",
                        [f"object {index}: package {clip(filename, 120)}"],
                        ["T1204.002"],
                    ),
                    path,
                )
                if obj.olepkgdata:
                    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
                    embedded.append((f"rtf-object-{index}/{base}", obj.olepkgdata))
            elif obj.oledata:
                embedded.append((f"rtf-object-{index}.ole", obj.oledata))
        elif obj.rawdata:
            objects.append(f"object {index}: not a well-formed OLE object, {len(obj.rawdata)} bytes")
    if objects:
        report.add(
            finding(
                "rtf.embedded-object",
                "evasion",
                "medium",
                "RTF embeds objects",
                objects,
                ["T1027.009"],
            ),
            path,
        )
    return embedded
