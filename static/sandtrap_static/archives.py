"""Unpacking archives in memory: zip (incl. AES and ZipCrypto), tar, gzip, bzip2, xz.

Members are yielded one at a time so that analyze.py can check its budgets between them and
recurse into each. Nothing is ever written to disk (so no path traversal, links or special files
to worry about), and no header is trusted: a zip member's declared size is only used to refuse it
early, and every decompressor runs with an output limit equal to what is left of the unpacking
budget, so a zip or gzip bomb is cut off after at most that many bytes.

Encrypted zips are how malware is exchanged (and delivered): the customary passwords are tried,
and when none works the archive is reported as encrypted rather than silently skipped.
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO

import pyzipper

from .budget import Budget, BudgetExceeded
from .filetype import is_tar
from .report import Report, clip, finding

CUSTOMARY_PASSWORDS = (b"infected", b"malware", b"virus", b"password")
CHUNK = 1024 * 1024
MAX_TAR_HEADERS = 10_000
MAX_ZIP_ENTRIES = 100_000
MAX_PATH_CHARS = 1024

# The member's name (as the archive gives it), its path from the top-level file, and its bytes.
Member = tuple[str, str, bytes]
# Skipped or locked members still appear in the report's member list.
NoteMember = Callable[[str, str, int], None]

_READ_ERRORS = (
    RuntimeError,
    pyzipper.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    ValueError,
    NotImplementedError,
    EOFError,
    OSError,
    KeyError,
)


def member_path(container: str | None, name: str) -> str:
    return clip(f"{container}/{name}" if container else name, MAX_PATH_CHARS)


def read_limited(stream: IO[bytes], limit: int, budget: Budget, where: str) -> bytes:
    """Reads a stream to its end, refusing (BudgetExceeded) to produce more than `limit` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        budget.check_time()
        chunk = stream.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise BudgetExceeded("bytes", f"{where} unpacks to more than the {limit} bytes left")
        chunks.append(chunk)


def members(
    data: bytes, kind: str, container: str | None, name: str, report: Report, budget: Budget, note: NoteMember
) -> Iterator[Member]:
    """The members of an archive of type `kind` (zip, jar, apk, tar, gzip, bzip2, xz)."""
    if kind in ("zip", "jar", "apk"):
        yield from _zip_members(data, container, report, budget, note)
    elif kind == "tar":
        yield from _tar_members(data, container, report, budget, note)
    elif kind in ("gzip", "bzip2", "xz"):
        yield from _stream_members(data, kind, container, name, report, budget, note)


def _zip_members(
    data: bytes, container: str | None, report: Report, budget: Budget, note: NoteMember
) -> Iterator[Member]:
    locked: list[str] = []
    opened_with: bytes | None = None
    try:
        # pyzipper's AESZipFile is zipfile plus WinZip AES; it reads ZipCrypto and plain members too.
        with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
            for index, info in enumerate(archive.infolist()):
                if index >= MAX_ZIP_ENTRIES:
                    break
                if info.is_dir():
                    continue
                budget.check_time()
                path = member_path(container, info.filename)
                budget.take_member(path)
                try:
                    budget.check_declared(info.file_size, path)
                    if info.flag_bits & 0x1:
                        content, password = _read_encrypted(archive, info, budget, path, opened_with)
                        if content is None:
                            locked.append(info.filename)
                            note(path, "encrypted", info.file_size)
                            continue
                        opened_with = password
                    else:
                        with archive.open(info) as stream:
                            content = read_limited(stream, budget.bytes_left, budget, path)
                except BudgetExceeded as exceeded:
                    if exceeded.which != "bytes":
                        raise
                    report.budget_exceeded(exceeded.which, exceeded.detail, container)
                    note(path, "skipped", info.file_size)
                    continue
                except _READ_ERRORS as error:
                    report.add_error(f"zip member {path}: {type(error).__name__}: {error}")
                    continue
                budget.take_bytes(len(content), path)
                yield info.filename, path, content
    except (*_READ_ERRORS, UnicodeDecodeError, struct.error) as error:
        report.add_error(f"zip {container or '(file)'}: {type(error).__name__}: {error}")
    finally:
        _report_passwords(report, container, locked, opened_with)


def _read_encrypted(
    archive: pyzipper.AESZipFile, info: pyzipper.ZipInfo, budget: Budget, path: str, first: bytes | None
) -> tuple[bytes | None, bytes | None]:
    """Tries the customary passwords (the one that opened a sibling first); (None, None) if none works."""
    candidates = ([first] if first else []) + [p for p in CUSTOMARY_PASSWORDS if p != first]
    for password in candidates:
        try:
            with archive.open(info, pwd=password) as stream:
                # The whole member is read: ZipCrypto's one-byte check passes 1 time in 256 with a
                # wrong password, the CRC (or AES's HMAC) at the end is what really verifies it.
                return read_limited(stream, budget.bytes_left, budget, path), password
        except _READ_ERRORS:
            continue
    return None, None


def _report_passwords(report: Report, container: str | None, locked: list[str], opened_with: bytes | None) -> None:
    if locked:
        report.encrypted = True
        report.add(
            finding(
                "archive.encrypted",
                "evasion",
                "medium",
                "Archive members are encrypted with an unknown password and were not analysed",
                [f"locked: {name}" for name in locked],
                ["T1027.013"],
            ),
            container,
        )
    if opened_with:
        report.add(
            finding(
                "archive.customary-password",
                "evasion",
                "low",
                "Archive is encrypted with a password customary for malware exchange",
                [f"opened with {opened_with.decode()!r}"],
                ["T1027.013"],
            ),
            container,
        )


def _tar_members(
    data: bytes, container: str | None, report: Report, budget: Budget, note: NoteMember
) -> Iterator[Member]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for _ in range(MAX_TAR_HEADERS):
                budget.check_time()
                info = archive.next()
                if info is None:
                    return
                # Links, devices and directories carry no content to analyse (and are never created).
                if not info.isreg():
                    continue
                path = member_path(container, info.name)
                budget.take_member(path)
                try:
                    budget.check_declared(info.size, path)
                    stream = archive.extractfile(info)
                    content = read_limited(stream, budget.bytes_left, budget, path) if stream else b""
                except BudgetExceeded as exceeded:
                    if exceeded.which != "bytes":
                        raise
                    report.budget_exceeded(exceeded.which, exceeded.detail, container)
                    note(path, "skipped", info.size)
                    continue
                budget.take_bytes(len(content), path)
                yield info.name, path, content
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        report.add_error(f"tar {container or '(file)'}: {type(error).__name__}: {error}")


def _decompress(data: bytes, kind: str, limit: int, budget: Budget, where: str) -> bytes:
    """The first stream of a gzip/bzip2/xz file, refusing to produce more than `limit` bytes."""
    if kind == "gzip":
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = bytearray()
        pending = data
        while not decompressor.eof:
            budget.check_time()
            # max_length is at least 1 here (0 would mean "unlimited").
            chunk = decompressor.decompress(pending, min(CHUNK, limit + 1 - len(out)))
            pending = decompressor.unconsumed_tail
            out += chunk
            if len(out) > limit:
                raise BudgetExceeded("bytes", f"{where} decompresses to more than the {limit} bytes left")
            if not chunk and not pending:
                break  # truncated input: analyse what there is
        return bytes(out)
    stream_decompressor = bz2.BZ2Decompressor() if kind == "bzip2" else lzma.LZMADecompressor()
    out = bytearray()
    first = True
    while not stream_decompressor.eof:
        budget.check_time()
        out += stream_decompressor.decompress(data if first else b"", min(CHUNK, limit + 1 - len(out)))
        first = False
        if len(out) > limit:
            raise BudgetExceeded("bytes", f"{where} decompresses to more than the {limit} bytes left")
        if stream_decompressor.needs_input:
            break  # truncated input: analyse what there is
    return bytes(out)


_SUFFIXES = {
    "gzip": ((".tgz", ".tar"), (".gz", ""), (".z", "")),
    "bzip2": ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    "xz": ((".txz", ".tar"), (".xz", "")),
}


def _inner_name(name: str, kind: str) -> str:
    base = name.rsplit("/", 1)[-1] or "stream"
    for suffix, replacement in _SUFFIXES[kind]:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + replacement
    return base + ".out"


def _stream_members(
    data: bytes, kind: str, container: str | None, name: str, report: Report, budget: Budget, note: NoteMember
) -> Iterator[Member]:
    """A compressed stream: a tar inside is unpacked in the same step (tar.gz is one container)."""
    where = container or name or "(file)"
    try:
        inner = _decompress(data, kind, budget.bytes_left, budget, where)
    except BudgetExceeded as exceeded:
        if exceeded.which != "bytes":
            raise
        report.budget_exceeded(exceeded.which, exceeded.detail, container)
        return
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError) as error:
        report.add_error(f"{kind} {where}: {type(error).__name__}: {error}")
        return
    if is_tar(inner[:512]):
        yield from _tar_members(inner, container, report, budget, note)
        return
    inner_name = _inner_name(name, kind)
    path = member_path(container, inner_name)
    budget.take_member(path)
    budget.take_bytes(len(inner), path)
    yield inner_name, path, inner
