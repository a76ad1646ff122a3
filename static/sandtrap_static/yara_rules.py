"""YARA rules: the bundled pack (`static/rules`) and user packs, compiled with YARA-X.

Each pack (a directory of `.yar`/`.yara` files) is compiled on its own, so that a user pack with a
syntax error is reported in `errors` and skipped while the bundled rules still apply. Compiled
packs are cached per process, keyed by the directory and the name, mtime and size of each of its
files: a warm Lambda (or a long-lived worker) reuses them, and a pack edited in place is
recompiled on the next analysis (reload-on-change).

Rule `meta` drives the output: `severity`, `category` (a behaviour key, or for threats any
label such as `test-file`), `attack` (technique ids, comma or space separated), `threat` (a threat
name to report), `family`, `confidence`, `description`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yara_x

from .budget import Budget, BudgetExceeded
from .report import CATEGORIES, MAX_YARA_STRINGS, SEVERITY_RANK, Report, clip, finding, printable

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "rules"
RULE_SUFFIXES = (".yar", ".yara")
MAX_RULE_FILES = 500
MAX_RULE_FILE_BYTES = 4 * 1024 * 1024
# A pattern that matches everywhere (a short string in a big file) must not make the scan slow.
MAX_MATCHES_PER_PATTERN = 100
MAX_EVIDENCE_MATCHES = 5
MAX_ATTACK_IDS = 20


@dataclass(frozen=True)
class Pack:
    """One compiled rule directory; `rules` is None when it failed to compile (`error` says why)."""

    namespace: str
    directory: str
    rules: yara_x.Rules | None
    error: str | None


_cache: dict[str, tuple[tuple[Any, ...], Pack]] = {}


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for path in sorted(directory.iterdir())[: MAX_RULE_FILES * 4]:
        if path.suffix.lower() in RULE_SUFFIXES and path.is_file():
            stat = path.stat()
            entries.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(entries[:MAX_RULE_FILES])


def _compile(directory: Path, namespace: str, files: tuple[tuple[str, int, int], ...]) -> Pack:
    # Includes are off: a pack must be self-contained so that its fingerprint covers every byte
    # compiled, and a rule file cannot pull in arbitrary files from the host.
    compiler = yara_x.Compiler(includes_enabled=False)
    compiler.new_namespace(namespace)
    if not files:
        return Pack(namespace, str(directory), None, f"rules pack {directory}: no .yar or .yara files")
    for file_name, _mtime, size in files:
        if size > MAX_RULE_FILE_BYTES:
            return Pack(namespace, str(directory), None, f"rules pack {directory}: {file_name} is too large")
        source = (directory / file_name).read_text("utf-8", "replace")
        try:
            compiler.add_source(source, origin=file_name)
        except yara_x.CompileError as error:
            return Pack(namespace, str(directory), None, f"rules pack {directory}: {error}")
    return Pack(namespace, str(directory), compiler.build(), None)


def _namespace(directory: Path, bundled: bool) -> str:
    if bundled:
        return "sandtrap"
    return "user_" + (re.sub(r"[^A-Za-z0-9_]", "_", directory.name) or "pack")


def load_pack(directory: str | os.PathLike[str], bundled: bool = False) -> Pack:
    """The compiled pack for a directory, from the cache unless one of its files changed."""
    path = Path(directory).resolve()
    namespace = _namespace(path, bundled)
    try:
        key = (namespace, _fingerprint(path))
    except OSError as error:
        return Pack(namespace, str(path), None, f"rules pack {path}: {error.strerror or error}")
    cached = _cache.get(str(path))
    if cached and cached[0] == key:
        return cached[1]
    try:
        pack = _compile(path, namespace, key[1])
    except OSError as error:
        pack = Pack(namespace, str(path), None, f"rules pack {path}: {error.strerror or error}")
    _cache[str(path)] = (key, pack)
    return pack


def load_packs(extra_dirs: tuple[str, ...] | list[str], report: Report) -> list[Pack]:
    """The bundled pack and the user packs that compiled; the others go to `errors`."""
    packs = []
    sources: list[tuple[str | Path, bool]] = [(BUNDLED_DIR, True), *((d, False) for d in extra_dirs)]
    for directory, bundled in sources:
        pack = load_pack(directory, bundled)
        if pack.rules is None:
            report.add_error(pack.error or f"rules pack {directory}: not compiled")
        else:
            packs.append(pack)
    return packs


def _meta(rule: yara_x.Rule) -> dict[str, Any]:
    return {key: value for key, value in rule.metadata}


def _attack_ids(value: Any) -> list[str]:
    ids = [t for t in re.split(r"[\s,;]+", str(value or "")) if re.fullmatch(r"T\d{4}(\.\d{3})?", t)]
    # Bounded like every list in a report: a user rule cannot make a finding carry hundreds of ids.
    return ids[:MAX_ATTACK_IDS]


def scan(packs: list[Pack], data: bytes, path: str | None, report: Report, budget: Budget) -> None:
    """Scans one object with every pack; matches become `yara` entries, findings and threats."""
    for pack in packs:
        if pack.rules is None:
            continue
        budget.check_time()
        scanner = yara_x.Scanner(pack.rules)
        scanner.set_timeout(max(1, int(budget.seconds_left)))
        scanner.max_matches_per_pattern(MAX_MATCHES_PER_PATTERN)
        try:
            results = scanner.scan(data)
        except yara_x.TimeoutError as error:
            raise BudgetExceeded("time", f"YARA scan of {path or 'the file'} timed out") from error
        for rule in results.matching_rules:
            _record(rule, data, path, report)


def _record(rule: yara_x.Rule, data: bytes, path: str | None, report: Report) -> None:
    strings: list[dict[str, Any]] = []
    evidence: list[str] = []
    for pattern in rule.patterns:
        for match in pattern.matches:
            if len(strings) < MAX_YARA_STRINGS:
                strings.append({"identifier": pattern.identifier, "offset": match.offset, "length": match.length})
            if len(evidence) < MAX_EVIDENCE_MATCHES:
                snippet = data[match.offset : match.offset + min(match.length, 120)]
                evidence.append(f"{pattern.identifier} at {match.offset}: {printable(snippet)}")
    report.add_yara(
        {
            "rule": rule.identifier,
            "namespace": rule.namespace,
            "tags": list(rule.tags),
            "strings": strings,
            "path": path,
        }
    )
    meta = _meta(rule)
    severity = str(meta.get("severity", "medium")).lower()
    category = str(meta.get("category", "execution"))
    item = finding(
        f"yara.{rule.identifier}",
        category if category in CATEGORIES else "execution",
        severity if severity in SEVERITY_RANK else "medium",
        clip(str(meta.get("description") or f"YARA rule {rule.identifier} matched")),
        evidence or [f"rule {rule.namespace}.{rule.identifier} matched (condition only)"],
        _attack_ids(meta.get("attack")),
    )
    threat = meta.get("threat")
    # A rule that names a threat, and any rule of a user's pack, is a signature: its finding keeps its
    # weight wherever it matched. The bundled heuristics are weighed by what the file is.
    item["namesThreat"] = bool(threat) or rule.namespace != "sandtrap"
    report.add(item, path)
    if threat:
        report.add_threat(
            str(threat),
            str(meta.get("threat_category") or category),
            str(meta["family"]) if meta.get("family") else None,
            str(meta.get("confidence", "medium")),
        )
