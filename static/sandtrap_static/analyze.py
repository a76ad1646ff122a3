"""The engine: `analyze(data, name)` types a file, runs the analysers that fit, recurses into members.

A pure function over bytes (no file is written, no network, no execution), so it runs the same
in a Lambda, in the CLI and in tests. Each analyser is one step; between steps the time budget is
checked, and an analyser that raises is recorded in `errors` without stopping the others (a
parser choking on a crafted file is itself no verdict). Members of archives, embedded objects of
documents and the payload of compressed streams go through the same function one level deeper,
charged to the same budget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from . import archives, elf, filetype, office, pdf, pe, scripts, yara_rules
from .budget import Budget, BudgetExceeded, HardTimeout
from .report import Report, finding

SCHEMA = 1
ARCHIVE_TYPES = frozenset({"zip", "jar", "apk", "tar", "gzip", "bzip2", "xz"})
UNSUPPORTED_ARCHIVES = frozenset({"7z", "rar"})
# Text that nothing runs as it is; HTML stays out (a browser runs its scripts), as do scripts.
INERT_TYPES = frozenset({"text", "json", "xml"})


class _Analysis:
    """State of one `analyze` call: the report, the budget and the compiled rule packs."""

    def __init__(self, report: Report, budget: Budget, packs: list[yara_rules.Pack]) -> None:
        self.report = report
        self.budget = budget
        self.packs = packs

    def step(self, label: str, path: str | None, run: Callable[[], Any]) -> Any:
        """Runs one analyser: budgets end the analysis (time) or the step; other errors are recorded."""
        self.budget.check_time()
        try:
            return run()
        except BudgetExceeded as exceeded:
            if exceeded.which == "time":
                raise
            self.report.budget_exceeded(exceeded.which, exceeded.detail, path)
        except (HardTimeout, KeyboardInterrupt, SystemExit):
            raise
        except MemoryError:
            self.report.add_error(f"{label} ({path or 'file'}): out of memory")
        except Exception as error:  # noqa: BLE001 - a library failing on hostile input is expected
            self.report.add_error(f"{label} ({path or 'file'}): {type(error).__name__}: {error}")
        return None

    def object(self, data: bytes, name: str, path: str | None, depth: int) -> None:
        """Analyses one object: the top-level file (path None) or a member at `path`."""
        kind = filetype.detect(data, name)
        file_type = kind["type"]
        if path is not None:
            self.report.members.append(
                {
                    "path": path,
                    "fileType": file_type,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
        if file_type == "empty":
            return
        report, budget = self.report, self.budget
        if file_type in INERT_TYPES:
            report.inert(path)

        self.step("yara", path, lambda: yara_rules.scan(self.packs, data, path, report, budget))
        if file_type == "pe":
            self.step("pe", path, lambda: pe.scan(data, path, report, budget))
        elif file_type == "elf":
            self.step("elf", path, lambda: elf.scan(data, path, report, budget))
        elif file_type == "pdf":
            self.step("pdf", path, lambda: pdf.scan(data, path, report, budget))
        elif file_type in filetype.TEXT_TYPES:
            self.step("scripts", path, lambda: scripts.scan(data, path, report, budget))
        elif file_type in filetype.OLE_TYPES:
            self.step("olevba", path, lambda: office.scan_macros(data, path, report, budget))
            self.step("ole", path, lambda: office.scan_ole_encryption(data, path, report))
        elif file_type in filetype.OOXML_TYPES:
            self.step("olevba", path, lambda: _macros_within_budget(data, path, report, budget))
            embedded = self.step("ooxml", path, lambda: office.scan_ooxml(data, path, report, budget))
            self.children(embedded or [], path, depth)
        elif file_type == "rtf":
            embedded = self.step("rtfobj", path, lambda: office.scan_rtf(data, path, report, budget))
            self.children(embedded or [], path, depth)
        elif file_type in ARCHIVE_TYPES:
            if self._can_descend(path, depth):
                members = archives.members(data, file_type, path, name, report, budget, self._note_member)
                self.step("unpack", path, lambda: self._descend(members, depth))
        elif file_type in UNSUPPORTED_ARCHIVES:
            report.add(
                finding(
                    "archive.unsupported",
                    "evasion",
                    "low",
                    f"{file_type} archive: its members were not analysed",
                    [f"no {file_type} support in the static engine"],
                ),
                path,
            )

    def _can_descend(self, path: str | None, depth: int) -> bool:
        if depth >= self.budget.max_depth:
            self.report.budget_exceeded("depth", f"nesting deeper than {self.budget.max_depth} not opened", path)
            return False
        return True

    def _note_member(self, path: str, file_type: str, size: int) -> None:
        self.report.members.append({"path": path, "fileType": file_type, "size": size, "sha256": None})

    def _descend(self, members: Iterable[archives.Member], depth: int) -> None:
        for member_name, member_path, content in members:
            self.object(content, member_name, member_path, depth + 1)

    def children(self, embedded: list[tuple[str, bytes]], path: str | None, depth: int) -> None:
        """Objects embedded in a document, analysed like archive members."""
        if not embedded or not self._can_descend(path, depth):
            return

        def run() -> None:
            for child_name, content in embedded:
                child_path = archives.member_path(path, child_name)
                self.budget.take_member(child_path)
                self.budget.take_bytes(len(content), child_path)
                self.object(content, child_name, child_path, depth + 1)

        self.step("embedded", path, run)


def _macros_within_budget(data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    office.check_macro_budget(data, budget)
    office.scan_macros(data, path, report, budget)


def analyze(data: bytes, name: str, extra_rule_dirs: Iterable[str] = ()) -> dict[str, Any]:
    """Analyses one file's bytes; `name` is its original file name (only a hint for text types).

    `extra_rule_dirs` are user YARA packs; one that does not compile is listed in `errors`.
    Always returns a report (schema 1): budgets and parser failures are part of the result.
    """
    report = Report()
    budget = Budget()
    top_type = filetype.detect(data, name)
    try:
        packs = yara_rules.load_packs(list(extra_rule_dirs), report)
        _Analysis(report, budget, packs).object(data, name, None, 0)
    except BudgetExceeded as exceeded:
        report.budget_exceeded(exceeded.which, exceeded.detail, None)
    except HardTimeout:
        report.budget_exceeded("time", f"hard stop after {budget.max_seconds:g} s (a library call overran)", None)
    return {
        "schema": SCHEMA,
        "fileType": top_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "findings": report.final_findings(),
        "threats": report.threats,
        "yara": report.yara,
        "members": report.members,
        "encrypted": report.encrypted,
        "errors": report.errors,
    }
