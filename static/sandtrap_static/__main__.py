"""CLI: `python -m sandtrap_static analyze <path> [--name NAME] [--rules-dir DIR]...`.

Prints exactly one JSON object on stdout. Exit codes: 0 when the file was analysed (whatever the
verdict), 2 on a usage error (bad arguments, unreadable file), 1 if the engine itself failed.
Stdout is the contract with the caller, so while the analysis runs file descriptor 1 points at
stderr: a library that prints (or a C extension that writes to fd 1) cannot corrupt the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from .analyze import analyze
from .budget import MAX_SECONDS, HardTimeout

# The soft deadline is checked between steps; this hard stop interrupts a single library call
# that runs away (a few seconds of grace so the soft check normally wins).
HARD_TIMEOUT_GRACE = 5.0


class _Parser(argparse.ArgumentParser):
    """argparse that never writes to stdout (help included) and exits 2 on any usage error."""

    def print_help(self, file: Any = None) -> None:
        super().print_help(sys.stderr)

    def print_usage(self, file: Any = None) -> None:
        super().print_usage(sys.stderr)

    def error(self, message: str) -> NoReturn:
        self.print_usage()
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _parser() -> _Parser:
    parser = _Parser(prog="python -m sandtrap_static", description="Static analysis of one untrusted file.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    command = commands.add_parser("analyze", help="analyse a file and print a JSON report")
    command.add_argument("path", help="the file to analyse (read, never executed)")
    command.add_argument("--name", help="the file's original name (defaults to the path's base name)")
    command.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory of extra YARA rules (.yar/.yara); may be repeated",
    )
    return parser


@contextmanager
def _stdout_to_stderr() -> Iterator[int]:
    """Points fd 1 (and sys.stdout) at stderr; yields a duplicate of the real stdout for the JSON."""
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


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise HardTimeout()


@contextmanager
def _hard_timeout(seconds: float) -> Iterator[None]:
    """SIGALRM backstop for the time budget (only possible in the main thread, as here)."""
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with open(args.path, "rb") as sample:
            data = sample.read()
    except OSError as error:
        sys.stderr.write(f"cannot read {args.path}: {error.strerror or error}\n")
        return 2
    name = args.name if args.name is not None else os.path.basename(args.path)
    with _stdout_to_stderr() as stdout_fd:
        try:
            with _hard_timeout(MAX_SECONDS + HARD_TIMEOUT_GRACE):
                result = analyze(data, name, tuple(args.rules_dir))
            code = 0
        except Exception as error:  # noqa: BLE001 - the caller still gets one JSON object
            result = {"schema": 1, "errors": [f"engine failure: {type(error).__name__}: {error}"]}
            code = 1
        payload = (json.dumps(result, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        view = memoryview(payload)
        while view:
            written = os.write(stdout_fd, view)
            view = view[written:]
    return code


if __name__ == "__main__":
    sys.exit(main())
