"""Resource budgets for one analysis.

Every input is hostile: an archive can hold a million members, a 100 KiB zip can inflate to
gigabytes, and a parser can be driven into slow paths. Rather than trust any header, one
`Budget` object is shared by every step of an analysis (including nested members) and is
charged for what is actually produced: members opened, bytes decompressed, wall time spent.
A step that would go over a budget stops, and the analysis reports which budget was hit
(`static.budget-exceeded`) instead of failing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MAX_DEPTH = 3
MAX_MEMBERS = 64
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_SECONDS = 10.0


class BudgetExceeded(Exception):
    """Raised by a step that would go over a budget; `which` names it (depth, members, bytes, time)."""

    def __init__(self, which: str, detail: str = "") -> None:
        super().__init__(f"{which} budget exceeded{': ' + detail if detail else ''}")
        self.which = which
        self.detail = detail


class HardTimeout(BaseException):
    """Raised from a SIGALRM handler (see `__main__`) when one library call overruns the time budget.

    Derives from BaseException so that the libraries' own `except Exception` blocks do not swallow
    it: the soft deadline is only checked between steps, and a single olevba or pefile call is not
    preemptible otherwise.
    """


@dataclass
class Budget:
    """What is left for one analysis; shared by the top-level file and all its nested members."""

    max_depth: int = MAX_DEPTH
    max_members: int = MAX_MEMBERS
    max_bytes: int = MAX_UNPACKED_BYTES
    max_seconds: float = MAX_SECONDS
    started: float = field(default_factory=time.monotonic)
    members: int = 0
    unpacked_bytes: int = 0

    @property
    def bytes_left(self) -> int:
        return max(0, self.max_bytes - self.unpacked_bytes)

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.max_seconds - (time.monotonic() - self.started))

    def check_time(self) -> None:
        """Called between steps and inside unpacking loops: the soft deadline."""
        if self.seconds_left <= 0:
            raise BudgetExceeded("time", f"{self.max_seconds:g} s wall time")

    def take_member(self, name: str) -> None:
        """Counts one more member (any depth) before it is read."""
        if self.members >= self.max_members:
            raise BudgetExceeded("members", f"more than {self.max_members} members; {name} and later not analysed")
        self.members += 1

    def take_bytes(self, count: int, name: str) -> None:
        """Charges bytes that a decompressor actually produced (never a header's claim)."""
        self.unpacked_bytes += count
        if self.unpacked_bytes > self.max_bytes:
            raise BudgetExceeded("bytes", f"more than {self.max_bytes} bytes unpacked at {name}")

    def check_declared(self, declared: int, name: str) -> None:
        """Refuses a member whose declared size alone cannot fit: no need to inflate a bomb to know."""
        if declared > self.bytes_left:
            raise BudgetExceeded(
                "bytes", f"{name} declares {declared} bytes, {self.bytes_left} left of {self.max_bytes}"
            )
