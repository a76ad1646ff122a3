"""The 0–100 score of a static report, by the detonation engine's formula.

Static findings use the detonation behaviour keys as categories, so both engines score evidence
the same way and their scores mean the same thing to the verdict policy. This is a port of
`scoreBehavior` in container/agent/report.ts (test/static/score.test.ts checks the two agree):

- `low` is context and never decides alone: each one takes 10 % of what is left "clean", and all
  of them together add at most 30;
- per category, the strongest finding counts in full and every further one at half its weight
  (more of one tactic is weaker evidence than a second tactic);
- categories combine as independent evidence: 100 × (1 − Π(1 − w)).

So one medium finding is suspicious (45), a medium and a high of two categories malicious (78),
and a critical one malicious alone (90).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from .report import CATEGORY_ORDER

SEVERITY_WEIGHT = {"low": 10, "medium": 45, "high": 60, "critical": 90}
LOW_SEVERITY_CAP = 30
SAME_TACTIC_FACTOR = 0.5

DEFAULT_SUSPICIOUS_AT = 40
DEFAULT_MALICIOUS_AT = 70


def _js_round(value: float) -> int:
    """JavaScript's Math.round (halves go up); Python's round() would take halves to even."""
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def score(findings: Iterable[Mapping[str, Any]]) -> int:
    """The 0–100 score of a report's findings (each with `category` and `severity`)."""
    by_category: dict[str, list[float]] = {}
    lows = 0
    for item in findings:
        severity = item.get("severity")
        if severity == "low":
            lows += 1
        elif severity in SEVERITY_WEIGHT:
            by_category.setdefault(str(item.get("category")), []).append(SEVERITY_WEIGHT[severity] / 100)
    # A category outside the behaviour keys cannot come from report.finding(); should one appear,
    # it still counts (after the known keys) rather than being silently ignored.
    ordered = [key for key in CATEGORY_ORDER if key in by_category]
    ordered += sorted(key for key in by_category if key not in CATEGORY_ORDER)
    clean = 1.0
    for key in ordered:
        for index, weight in enumerate(sorted(by_category[key], reverse=True)):
            clean *= 1 - (weight if index == 0 else weight * SAME_TACTIC_FACTOR)
    low_clean = 1.0
    for _ in range(lows):
        low_clean *= 1 - SEVERITY_WEIGHT["low"] / 100
    low = min(LOW_SEVERITY_CAP / 100, 1 - low_clean)
    return _js_round((1 - clean * (1 - low)) * 100)


def verdict_of(
    value: int | float | None,
    suspicious_at: float = DEFAULT_SUSPICIOUS_AT,
    malicious_at: float = DEFAULT_MALICIOUS_AT,
) -> str:
    """The band a score falls in: benign, suspicious or malicious (`unknown` for no score)."""
    if value is None:
        return "unknown"
    if value >= malicious_at:
        return "malicious"
    if value >= suspicious_at:
        return "suspicious"
    return "benign"
