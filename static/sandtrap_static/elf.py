"""Linux ELF triage with pyelftools: packing, static linking, stripped symbols.

pyelftools is pure Python and reads from a file object, so the sample stays in memory. These
are weak signals on their own (many legitimate binaries are stripped), hence the low severities,
except packing: UPX and friends exist to hide code from exactly this kind of analysis.
"""

from __future__ import annotations

import io

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from .budget import Budget
from .entropy import shannon
from .report import Report, finding

UPX_MARKERS = (b"UPX!", b"$Info: This file is packed with the UPX")
PACKED_ENTROPY = 7.2
ENTROPY_SAMPLE = 8 * 1024 * 1024
MAX_SEGMENTS = 256
MAX_DYNAMIC_TAGS = 4096


def _needed(elf: ELFFile) -> list[str]:
    needed: list[str] = []
    for index, segment in enumerate(elf.iter_segments()):
        if index >= MAX_SEGMENTS:
            break
        if isinstance(segment, DynamicSegment):
            for count, tag in enumerate(segment.iter_tags()):
                if count >= MAX_DYNAMIC_TAGS or tag.entry.d_tag == "DT_NULL":
                    break
                if tag.entry.d_tag == "DT_NEEDED":
                    # pyelftools sets `needed` on DT_NEEDED tags (the resolved library name).
                    needed.append(str(getattr(tag, "needed", "")))
    return needed


def scan(data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    try:
        elf = ELFFile(io.BytesIO(data))
        segment_types = [s["p_type"] for s in list(elf.iter_segments())[:MAX_SEGMENTS]]
        budget.check_time()
        needed = _needed(elf)
        section_count = elf.num_sections()
        has_symtab = section_count > 0 and elf.get_section_by_name(".symtab") is not None
    except (ELFError, ValueError, KeyError, IndexError, OSError, UnicodeDecodeError) as error:
        report.add(
            finding("elf.malformed", "evasion", "low", "Malformed ELF: headers do not parse", [repr(error)]), path
        )
        return

    markers = [m.decode() for m in UPX_MARKERS if m in data]
    if markers:
        report.add(
            finding(
                "elf.packed",
                "evasion",
                "medium",
                "ELF is packed with UPX",
                [f"marker {m!r}" for m in markers],
                ["T1027.002"],
            ),
            path,
        )
    elif section_count == 0:
        entropy = shannon(data[:ENTROPY_SAMPLE])
        if entropy > PACKED_ENTROPY:
            report.add(
                finding(
                    "elf.packed",
                    "evasion",
                    "medium",
                    "ELF without section headers and with high entropy (packed)",
                    [f"entropy {entropy:.2f}, no section headers"],
                    ["T1027.002"],
                ),
                path,
            )

    executable = elf.header["e_type"] in ("ET_EXEC", "ET_DYN")
    if executable and "PT_INTERP" not in segment_types and not needed:
        # Static binaries carry their own libc: LD_PRELOAD-based monitoring (as in our detonation)
        # sees nothing, which is one reason droppers ship them.
        report.add(
            finding(
                "elf.static",
                "evasion",
                "low",
                "ELF is statically linked",
                ["no PT_INTERP segment and no DT_NEEDED entries"],
            ),
            path,
        )
    if not has_symtab:
        report.add(
            finding(
                "elf.stripped",
                "evasion",
                "low",
                "ELF is stripped (no symbol table)",
                ["no .symtab section" if section_count else "no section headers at all"],
                ["T1027.008"],
            ),
            path,
        )
