"""File typing by content, fine enough to pick the right analyser.

Names match the TypeScript side (`lambdas/core/triage/file-type.ts`): `pe`, `elf`, `pdf`, `zip`,
`ole`, `rtf`, `macho`, `script-sh`, ... Where that typer stops at "zip" or "ole", this one looks
inside (cheaply, with bounded reads) because the container decides the analysis: a docm gets
olevba, a jar or apk is an application package, a plain zip is unpacked. Magic bytes always win
over the file name; the name only decides between text types that bytes cannot tell apart.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

from .budget import MAX_UNPACKED_BYTES

# How much of the start of a file the text checks look at.
HEAD = 8192
# [Content_Types].xml larger than this is not read for typing (a real one is a few KiB).
MAX_CONTENT_TYPES = 1024 * 1024

MIME = {
    "empty": "application/x-empty",
    "binary": "application/octet-stream",
    "text": "text/plain",
    "html": "text/html",
    "xml": "application/xml",
    "json": "application/json",
    "pe": "application/vnd.microsoft.portable-executable",
    "elf": "application/x-executable",
    "macho": "application/x-mach-binary",
    "class": "application/java-vm",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "jar": "application/java-archive",
    "apk": "application/vnd.android.package-archive",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docm": "application/vnd.ms-word.document.macroEnabled.12",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pptm": "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
    "ole": "application/x-ole-storage",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "msi": "application/x-msi",
    "rtf": "application/rtf",
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar",
    "tar": "application/x-tar",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "wasm": "application/wasm",
    "lnk": "application/x-ms-shortcut",
    "script-sh": "text/x-shellscript",
    "script-python": "text/x-python",
    "script-perl": "text/x-perl",
    "script-js": "text/javascript",
    "script-ruby": "text/x-ruby",
    "script-php": "text/x-php",
    "script-powershell": "text/x-powershell",
    "script-vbs": "text/vbscript",
    "script-batch": "text/x-msdos-batch",
}

OOXML_TYPES = frozenset({"docx", "docm", "xlsx", "xlsm", "pptx", "pptm"})
OLE_TYPES = frozenset({"ole", "doc", "xls", "ppt", "msi"})
TEXT_TYPES = frozenset({"text", "html", "xml", "json"} | {t for t in MIME if t.startswith("script-")})

# Main-part content types in [Content_Types].xml; templates and add-ins count as their document.
_OOXML_MAIN = (
    ("application/vnd.ms-word.document.macroenabled.main+xml", "docm"),
    ("application/vnd.ms-word.template.macroenabledtemplate.main+xml", "docm"),
    ("wordprocessingml.document.main+xml", "docx"),
    ("wordprocessingml.template.main+xml", "docx"),
    ("application/vnd.ms-excel.sheet.macroenabled.main+xml", "xlsm"),
    ("application/vnd.ms-excel.template.macroenabled.main+xml", "xlsm"),
    ("application/vnd.ms-excel.addin.macroenabled.main+xml", "xlsm"),
    ("spreadsheetml.sheet.main+xml", "xlsx"),
    ("spreadsheetml.template.main+xml", "xlsx"),
    ("application/vnd.ms-powerpoint.presentation.macroenabled.main+xml", "pptm"),
    ("application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml", "pptm"),
    ("presentationml.presentation.main+xml", "pptx"),
    ("presentationml.slideshow.main+xml", "pptx"),
)

_INTERPRETERS = {
    "sh": "script-sh",
    "bash": "script-sh",
    "dash": "script-sh",
    "zsh": "script-sh",
    "ksh": "script-sh",
    "ash": "script-sh",
    "busybox": "script-sh",
    "python": "script-python",
    "perl": "script-perl",
    "node": "script-js",
    "nodejs": "script-js",
    "ruby": "script-ruby",
    "php": "script-php",
    "pwsh": "script-powershell",
    "powershell": "script-powershell",
}

_EXTENSIONS = {
    "sh": "script-sh",
    "bash": "script-sh",
    "py": "script-python",
    "pyw": "script-python",
    "pl": "script-perl",
    "pm": "script-perl",
    "js": "script-js",
    "mjs": "script-js",
    "cjs": "script-js",
    "jse": "script-js",
    "rb": "script-ruby",
    "php": "script-php",
    "phtml": "script-php",
    "ps1": "script-powershell",
    "psm1": "script-powershell",
    "psd1": "script-powershell",
    "vbs": "script-vbs",
    "vbe": "script-vbs",
    "bat": "script-batch",
    "cmd": "script-batch",
    "html": "html",
    "htm": "html",
    "hta": "html",
    "xml": "xml",
    "json": "json",
}

# Root CLSID of an MSI package (MSI stream names are mangled, the CLSID is the cheap tell).
_MSI_CLSID = "000C1084-0000-0000-C000-000000000046"


def result(kind: str) -> dict[str, str]:
    return {"type": kind, "mime": MIME.get(kind, "application/octet-stream")}


def detect(data: bytes, name: str = "") -> dict[str, str]:
    """Returns `{type, mime}` for the bytes; `name` (the original file name) only breaks ties for text."""
    return result(_detect(data, name))


def _detect(data: bytes, name: str) -> str:
    if not data:
        return "empty"
    head = data[:HEAD]
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head.startswith(b"MZ"):
        # Any MZ is typed `pe` (as the TypeScript typer does); pe.py reports one without a valid
        # PE header as malformed.
        return "pe"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"):
        return "macho"
    if head.startswith(b"\xca\xfe\xba\xbe") and len(head) >= 8:
        # Universal Mach-O and Java class files share the magic: a fat header counts its
        # architectures (a handful), a class file has its version there (45 and up).
        return "macho" if struct.unpack(">I", head[4:8])[0] < 30 else "class"
    if b"%PDF-" in head[:1024]:
        # Readers accept junk before the header, and so do malicious PDFs.
        return "pdf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_kind(data)
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if is_tar(head):
        return "tar"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data)
    if head.startswith(b"{\\rt"):
        # Word opens anything starting with `{\rt`; malicious RTFs rely on that.
        return "rtf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"GIF8"):
        return "gif"
    if head.startswith(b"\x00asm"):
        return "wasm"
    if head.startswith(b"L\x00\x00\x00\x01\x14\x02\x00"):
        return "lnk"
    return _text_kind(head, name)


def is_tar(head: bytes) -> bool:
    """ustar magic, or an old (v7) header whose checksum adds up."""
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    try:
        stored = int(head[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    computed = sum(head[:148]) + 8 * 32 + sum(head[156:512])
    return stored == computed and head[0] != 0


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set()
            for index, info in enumerate(archive.infolist()):
                if index >= 10_000:
                    break
                names.add(info.filename)
            # An apk is also a signed jar (it has META-INF/MANIFEST.MF): test it first.
            if "AndroidManifest.xml" in names:
                return "apk"
            if "[Content_Types].xml" in names:
                kind = _ooxml_kind(archive, names)
                if kind:
                    return kind
            if "META-INF/MANIFEST.MF" in names:
                return "jar"
    except Exception:  # noqa: BLE001 - a zip that does not parse (zlib.error, struct.error...) is still `zip`
        pass
    return "zip"


def _ooxml_kind(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    try:
        info = archive.getinfo("[Content_Types].xml")
        if info.file_size <= MAX_CONTENT_TYPES and not info.flag_bits & 0x1:
            with archive.open(info) as part:
                content_types = part.read(MAX_CONTENT_TYPES).decode("utf-8", "replace").lower()
            for marker, kind in _OOXML_MAIN:
                if marker in content_types:
                    return kind
    except Exception:  # noqa: BLE001 - an unreadable part: fall back on the part names
        pass
    # No readable content types: fall back on the main parts' names.
    macro = any(n.lower().endswith("vbaproject.bin") for n in names)
    if "word/document.xml" in names:
        return "docm" if macro else "docx"
    if "xl/workbook.xml" in names:
        return "xlsm" if macro else "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptm" if macro else "pptx"
    return None


def _ole_kind(data: bytes) -> str:
    try:
        import olefile  # a dependency of oletools

        # Always a file object: olefile takes a bytes argument shorter than 1536 bytes for a path.
        ole = olefile.OleFileIO(io.BytesIO(data))
        try:
            if (ole.root.clsid or "").upper() == _MSI_CLSID:
                return "msi"
            streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)[:10_000]}
            if "worddocument" in streams:
                return "doc"
            if "workbook" in streams or "book" in streams:
                return "xls"
            if "powerpoint document" in streams:
                return "ppt"
        finally:
            ole.close()
    except Exception:  # noqa: BLE001 - a broken OLE file is still typed `ole`
        pass
    return "ole"


def decode_text(data: bytes, limit: int = MAX_UNPACKED_BYTES) -> str:
    """Text as scripts are written: UTF-16 with a BOM (PowerShell ISE's default) or UTF-8/Latin-1."""
    data = data[:limit]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", "replace")
    control = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 0x20 and ch not in "\n\r\t\f"))
    # A few stray bytes are allowed (a multi-byte character cut at the end of the head, say).
    return control <= max(2, len(text) // 100)


def shebang_program(head: bytes) -> str | None:
    """The interpreter a `#!` line names, through `env` when used, without directory or version."""
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode("latin-1").strip()
    parts = line.split()
    if not parts:
        return ""
    program = parts[0].rsplit("/", 1)[-1]
    if program == "env":
        program = next((p for p in parts[1:] if not p.startswith("-") and "=" not in p), "").rsplit("/", 1)[-1]
    return program


def _text_kind(head: bytes, name: str) -> str:
    program = shebang_program(head)
    if program is not None:
        kind = _INTERPRETERS.get(program) or _INTERPRETERS.get(re.sub(r"[0-9.]+$", "", program))
        if kind:
            return kind
    if not _looks_like_text(head):
        return "binary"
    extension = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    start = decode_text(head, 1024).lstrip().lower()
    if start.startswith("<?php"):
        return "script-php"
    if start.startswith(("<!doctype html", "<html")):
        return "html"
    if start.startswith("<?xml"):
        return "xml"
    return "text"
