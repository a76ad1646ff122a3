"""The analysis report: findings, threats, YARA matches, members and errors, all bounded.

Everything in a report is derived from a hostile file and ends up in JSON that other systems
(and people) read, so every list and string here has a cap: a crafted file must not be able to
produce a multi-megabyte report or hide the important finding behind thousands of trivial ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The detonation engine's behaviour keys: a finding's category is always one of these, so the
# verdict logic can merge static and dynamic results per behaviour.
# In the detonation engine's order (BEHAVIOR_KEYS): the scorer multiplies in this order, as the
# TypeScript side does, so that both round a borderline score the same way.
CATEGORY_ORDER = (
    "persistence",
    "privilegeEscalation",
    "evasion",
    "dataHarvesting",
    "network",
    "destructive",
    "execution",
    "cryptomining",
)
CATEGORIES = frozenset(CATEGORY_ORDER)
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

MAX_EVIDENCE_ITEMS = 10
INERT_NOTE = "a file nothing runs as it is (plain text, JSON or XML)"
MAX_EVIDENCE_CHARS = 300
MAX_FINDINGS = 200
# Findings are collected up to this many before sorting and cutting to MAX_FINDINGS, so the
# cut keeps the most severe ones without letting memory grow with the input.
MAX_COLLECTED_FINDINGS = 2000
MAX_THREATS = 50
MAX_YARA_ENTRIES = 200
MAX_YARA_STRINGS = 20
MAX_ERRORS = 50
MAX_ERROR_CHARS = 500

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clip(text: str, limit: int = MAX_EVIDENCE_CHARS) -> str:
    """Bounds a string from the file and masks control characters (terminal escapes, NULs)."""
    text = _CONTROL.sub("?", text[: limit * 2])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def printable(data: bytes, limit: int = 120) -> str:
    """A short readable rendering of raw bytes for evidence."""
    return clip(data[:limit].decode("latin-1"), limit)


def finding(
    id: str,
    category: str,
    severity: str,
    title: str,
    evidence: Iterable[str] = (),
    attack: Iterable[str] = (),
) -> dict[str, Any]:
    """Builds one finding; `path` is set by the report from the object being analysed."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category}")
    if severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity}")
    return {
        "id": id,
        "category": category,
        "severity": severity,
        "title": clip(title),
        "evidence": [clip(e) for e in list(evidence)[:MAX_EVIDENCE_ITEMS]],
        "attack": sorted(set(attack)),
        "path": None,
    }


class Report:
    """Accumulates the results of one analysis across the top-level file and its members."""

    def __init__(self) -> None:
        self.findings: list[dict[str, Any]] = []
        self.dropped_findings = 0
        self.threats: list[dict[str, Any]] = []
        self.yara: list[dict[str, Any]] = []
        self.members: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.encrypted = False
        # Objects that nothing runs as they are (plain text, JSON, XML): see `inert`.
        self._inert_paths: set[str | None] = set()

    def inert(self, path: str | None) -> None:
        """Marks the object at `path` as one that nothing runs as it is (plain text, JSON, XML).

        Script heuristics and script rules still look at it, but what they find there is context
        (`low`), not evidence: a README that shows `curl ... | sh` is documentation, not a dropper.
        Findings of rules that name a threat (EICAR, a user's signature) keep their severity.
        """
        self._inert_paths.add(path)

    def add(self, item: dict[str, Any], path: str | None) -> None:
        """Adds a finding for the object at `path` (None for the top-level file).

        The same finding id for the same object is merged (evidence appended, severity raised)
        so that a check that fires many times yields one finding with several pieces of evidence.
        """
        names_threat = bool(item.pop("namesThreat", False))
        item = dict(item, path=path)
        if path in self._inert_paths and not names_threat and item["severity"] != "low":
            item["evidence"] = [*item["evidence"][: MAX_EVIDENCE_ITEMS - 1], f"in {INERT_NOTE}: was {item['severity']}"]
            item["severity"] = "low"
        for existing in self.findings:
            if existing["id"] == item["id"] and existing["path"] == path:
                merged = existing["evidence"] + [e for e in item["evidence"] if e not in existing["evidence"]]
                existing["evidence"] = merged[:MAX_EVIDENCE_ITEMS]
                existing["attack"] = sorted(set(existing["attack"]) | set(item["attack"]))
                if SEVERITY_RANK[item["severity"]] > SEVERITY_RANK[existing["severity"]]:
                    existing["severity"] = item["severity"]
                return
        if len(self.findings) >= MAX_COLLECTED_FINDINGS:
            self.dropped_findings += 1
            return
        self.findings.append(item)

    def budget_exceeded(self, which: str, detail: str, path: str | None) -> None:
        """One `static.budget-exceeded` finding per budget, with where it was hit as evidence."""
        evidence = f"{which}: {detail}" + (f" (in {path})" if path else "")
        for existing in self.findings:
            if existing["id"] == "static.budget-exceeded" and existing["evidence"][0].startswith(which + ":"):
                if len(existing["evidence"]) < MAX_EVIDENCE_ITEMS and evidence not in existing["evidence"]:
                    existing["evidence"].append(clip(evidence))
                return
        self.add(
            finding(
                "static.budget-exceeded",
                "evasion",
                "low",
                f"Analysis budget exceeded ({which}): part of the file was not analysed",
                [evidence],
            ),
            None,
        )

    def add_threat(self, name: str, category: str, family: str | None, confidence: str) -> None:
        if any(t["name"] == name for t in self.threats) or len(self.threats) >= MAX_THREATS:
            return
        self.threats.append(
            {
                "name": clip(name, 120),
                "engine": "static",
                "category": clip(category, 60),
                "family": clip(family, 120) if family else None,
                "confidence": confidence if confidence in ("low", "medium", "high") else "medium",
            }
        )

    def add_heuristic_threat(self, name: str, category: str, path: str | None, confidence: str = "medium") -> None:
        """Names a threat for a pattern an analyser recognised (not a signature), as
        `Heuristic.<Kind>.<Pattern>`; never for an object that nothing runs as it is."""
        if path not in self._inert_paths:
            self.add_threat(name, category, None, confidence)

    def add_yara(self, entry: dict[str, Any]) -> None:
        if len(self.yara) < MAX_YARA_ENTRIES:
            self.yara.append(entry)

    def add_error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(clip(message, MAX_ERROR_CHARS))

    def final_findings(self) -> list[dict[str, Any]]:
        """The most severe findings first, cut to MAX_FINDINGS with a `static.truncated` note."""
        ordered = sorted(self.findings, key=lambda f: -SEVERITY_RANK[f["severity"]])
        total = len(ordered) + self.dropped_findings
        if total <= MAX_FINDINGS:
            return ordered
        kept = ordered[: MAX_FINDINGS - 1]
        note = finding(
            "static.truncated",
            "evasion",
            "low",
            "Too many findings: the least severe were left out",
            [f"{total} findings, {len(kept)} kept"],
        )
        return [*kept, note]
