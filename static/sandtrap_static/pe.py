"""Windows PE triage with pefile: imports, packed sections, overlay.

pefile is the de-facto Python PE parser (used by most malware tooling); it parses from memory
(`data=`), so nothing is written to disk, and it tolerates broken headers, which hostile files
always have. Only the import directory is parsed (`fast_load` then one directory): resources,
relocations and debug data are where the slow paths and the least signal are.
"""

from __future__ import annotations

import pefile

from .budget import Budget
from .entropy import shannon
from .report import Report, finding

# Imports that together mean "write code into another process and run it" (T1055).
INJECTION_APIS = frozenset(
    {
        "VirtualAllocEx",
        "WriteProcessMemory",
        "CreateRemoteThread",
        "CreateRemoteThreadEx",
        "NtUnmapViewOfSection",
        "ZwUnmapViewOfSection",
        "QueueUserAPC",
        "NtQueueApcThread",
        "SetThreadContext",
        "Wow64SetThreadContext",
        "NtWriteVirtualMemory",
        "RtlCreateUserThread",
    }
)
# Imports that fetch a URL (T1105, ingress tool transfer).
DOWNLOAD_APIS = frozenset(
    {
        "URLDownloadToFileA",
        "URLDownloadToFileW",
        "URLDownloadToCacheFileA",
        "URLDownloadToCacheFileW",
        "InternetOpenUrlA",
        "InternetOpenUrlW",
        "WinHttpOpen",
    }
)
UPX_SECTIONS = frozenset({"UPX0", "UPX1", "UPX2", ".UPX0", ".UPX1"})
PACKED_ENTROPY = 7.2
OVERLAY_MIN = 1024
MAX_DLLS = 256
MAX_IMPORTS = 8192
MAX_SECTIONS = 96
IMAGE_SCN_MEM_EXECUTE = 0x20000000
IMAGE_FILE_DLL = 0x2000


def _imports(pe: pefile.PE) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])[:MAX_DLLS]:
        dll = (entry.dll or b"").decode("latin-1")
        for imported in entry.imports:
            if len(found) >= MAX_IMPORTS:
                return found
            if imported.name:
                found.append((dll, imported.name.decode("latin-1")))
    return found


def scan(data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as error:
        # Malformed is a property of the sample (often deliberate), not an engine failure.
        report.add(finding("pe.malformed", "evasion", "low", "Malformed PE: headers do not parse", [str(error)]), path)
        return
    try:
        budget.check_time()
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
        imports = _imports(pe)
        kind = "DLL" if pe.FILE_HEADER.Characteristics & IMAGE_FILE_DLL else "executable"

        injection = sorted({f"{dll}!{name}" for dll, name in imports if name in INJECTION_APIS})
        if injection:
            # One of these alone is common (debuggers, installers); two or more is the injection pattern.
            severity = "high" if len({i.split("!", 1)[1] for i in injection}) >= 2 else "medium"
            report.add(
                finding(
                    "pe.injection-imports",
                    "evasion",
                    severity,
                    f"PE {kind} imports process-injection APIs",
                    injection,
                    ["T1055"],
                ),
                path,
            )
            if severity == "high":
                report.add_heuristic_threat("Heuristic.PE.ProcessInjection", "injector", path)
        download = sorted({f"{dll}!{name}" for dll, name in imports if name in DOWNLOAD_APIS})
        if download:
            report.add(
                finding(
                    "pe.download-imports",
                    "network",
                    "medium",
                    f"PE {kind} imports URL download APIs",
                    download,
                    ["T1105"],
                ),
                path,
            )

        for section in pe.sections[:MAX_SECTIONS]:
            budget.check_time()
            name = section.Name.rstrip(b"\x00").decode("latin-1")
            if name in UPX_SECTIONS:
                report.add(
                    finding(
                        "pe.upx",
                        "evasion",
                        "medium",
                        "PE is packed with UPX (section names)",
                        [f"section {name}"],
                        ["T1027.002"],
                    ),
                    path,
                )
            if section.Characteristics & IMAGE_SCN_MEM_EXECUTE:
                entropy = shannon(section.get_data()[: 16 * 1024 * 1024])
                if entropy > PACKED_ENTROPY:
                    report.add(
                        finding(
                            "pe.packed-section",
                            "evasion",
                            "medium",
                            "PE has a high-entropy executable section (packed or encrypted code)",
                            [f"section {name or '(unnamed)'}: entropy {entropy:.2f}"],
                            ["T1027.002"],
                        ),
                        path,
                    )

        overlay_start = pe.get_overlay_data_start_offset()
        if overlay_start is not None and len(data) - overlay_start > OVERLAY_MIN:
            report.add(
                finding(
                    "pe.overlay",
                    "evasion",
                    "low",
                    "PE has data appended after its last section (overlay)",
                    [f"{len(data) - overlay_start} bytes at offset {overlay_start}"],
                    ["T1027.009"],
                ),
                path,
            )
    finally:
        pe.close()
