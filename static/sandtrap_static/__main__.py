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
import sys
from typing import Any, NoReturn

from .guard import guarded_analyze, stdout_to_stderr, write_all


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with open(args.path, "rb") as sample:
            data = sample.read()
    except OSError as error:
        sys.stderr.write(f"cannot read {args.path}: {error.strerror or error}\n")
        return 2
    name = args.name if args.name is not None else os.path.basename(args.path)
    with stdout_to_stderr() as stdout_fd:
        try:
            result = guarded_analyze(data, name, args.rules_dir)
            code = 0
        except Exception as error:  # noqa: BLE001 - the caller still gets one JSON object
            result = {"schema": 1, "errors": [f"engine failure: {type(error).__name__}: {error}"]}
            code = 1
        write_all(stdout_fd, (json.dumps(result, ensure_ascii=True, separators=(",", ":")) + "\n").encode())
    return code


if __name__ == "__main__":
    sys.exit(main())
