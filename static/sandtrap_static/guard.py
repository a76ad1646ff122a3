"""Running the engine on hostile input inside a process that has a contract to keep.

Shared by the CLI (`__main__`), the Lambda handler (`lambda_function`) and the local worker
(`worker`): each of them owns stdout for its own protocol, and each needs the analysis of one file
to end even when a single library call runs away.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .analyze import analyze
from .budget import MAX_SECONDS, HardTimeout

# The soft deadline is checked between steps; this hard stop interrupts a single library call
# that runs away (a few seconds of grace so the soft check normally wins).
HARD_TIMEOUT_GRACE = 5.0


@contextmanager
def stdout_to_stderr() -> Iterator[int]:
    """Points fd 1 (and sys.stdout) at stderr; yields a duplicate of the real stdout.

    A library that prints (or a C extension that writes to fd 1) then cannot corrupt what the
    caller writes to the yielded descriptor (the CLI's JSON, the worker's answers).
    """
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    saved, sys.stdout = sys.stdout, sys.stderr
    try:
        yield real_stdout
    finally:
        sys.stdout = saved
        os.dup2(real_stdout, 1)
        os.close(real_stdout)


def write_all(fd: int, payload: bytes) -> None:
    """Writes every byte (os.write may write less than asked on a pipe)."""
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise HardTimeout()


@contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    """SIGALRM backstop for the time budget (only possible in the main thread).

    The CLI, the worker and the Lambda Python runtime all call the engine from the main thread;
    elsewhere (a test calling from a thread) only the soft budget applies.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def guarded_analyze(data: bytes, name: str, extra_rule_dirs: Iterable[str] = ()) -> dict[str, Any]:
    """`analyze` under the hard stop: the soft budget plus a grace period, whatever a library does."""
    with hard_timeout(MAX_SECONDS + HARD_TIMEOUT_GRACE):
        return analyze(data, name, tuple(extra_rule_dirs))
