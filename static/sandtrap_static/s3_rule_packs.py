"""User YARA rule packs kept in S3, mirrored into a local directory per process.

Users drop `.yar`/`.yara` files under a prefix (by default `rules/` in the reports bucket): the
first path segment below the prefix names the pack (`rules/acme/x.yar` is pack `acme`), and files
directly under the prefix form the pack `default`. An analysis lists the prefix unless a listing
younger than `refresh_seconds` was mirrored (a LIST is billed as a PUT: listing for every analysis
would cost more than the rest of the engine's S3 use); when the listing (keys, ETags, sizes) is the
one already mirrored, the local copy is reused as it is, so a warm Lambda or a long-lived worker
downloads nothing. When it changed, the files are downloaded into a fresh directory under the temp
directory and the old one is removed: a new or edited pack changes verdicts within `refresh_seconds`,
without a redeploy or a restart.

The bucket is writable by users, so everything about it is bounded (files, bytes, listing length),
every key becomes a sanitised local name (no `..`, no absolute path, nothing outside the fresh
directory), and every problem is reported as an error of the analysis rather than failing it: the
bundled rules always apply.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import yara_rules
from .report import clip

RULE_SUFFIXES = (".yar", ".yara")
MAX_RULE_FILES = 500
MAX_RULE_FILE_BYTES = 4 * 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
# Keys listed (rule files or not) before giving up on the rest of the prefix.
MAX_LISTED_OBJECTS = 10_000
MAX_PACK_NAME = 64
MAX_FILE_NAME = 100
# Problems with the packs reported in one analysis; the rest are counted in a last line.
MAX_ERRORS = 20
DEFAULT_PACK = "default"


@dataclass(frozen=True)
class RuleFile:
    """One rule object chosen from the listing, and where it goes locally."""

    key: str
    etag: str
    size: int
    pack: str
    file_name: str


@dataclass
class PackErrors:
    """A bounded list of problems, with a count of those left out."""

    items: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(clip(message, 400))
        else:
            self.dropped += 1

    def extend(self, other: list[str]) -> None:
        for message in other:
            self.add(message)

    def as_list(self) -> list[str]:
        extra = [f"rule packs: {self.dropped} more problems not listed"] if self.dropped else []
        return [*self.items, *extra]


def pack_name(raw: str) -> str:
    """A pack directory name from a key's first segment: [A-Za-z0-9_-], bounded, never empty."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:MAX_PACK_NAME] or "pack"


def _file_name(raw: str) -> str:
    """A local file name for a rule file: safe characters, no leading dot, the suffix kept."""
    stem, dot, suffix = raw.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", stem)[:MAX_FILE_NAME] or "rules"
    return f"{stem}{dot}{suffix.lower()}"


def _unsafe(relative: str) -> bool:
    parts = relative.split("/")
    return (
        relative.startswith("/")
        or "\\" in relative
        or "\x00" in relative
        or any(part in ("", ".", "..") for part in parts)
    )


def _shown(key: str) -> str:
    return clip(repr(key), 200)


def select(objects: list[dict[str, Any]], prefix: str, errors: PackErrors) -> list[RuleFile]:
    """The rule files to mirror from a listing, within the bounds; the rest goes to `errors`."""
    chosen: list[RuleFile] = []
    used: set[tuple[str, str]] = set()
    pack_of: dict[str, str] = {}
    total = 0
    over_count = 0
    for item in objects:
        key = str(item.get("Key", ""))
        relative = key[len(prefix) :]
        if not relative.lower().endswith(RULE_SUFFIXES):
            continue
        if _unsafe(relative):
            errors.add(f"rule packs: {_shown(key)} refused (empty, '.', '..' or absolute path segment)")
            continue
        parts = relative.split("/")
        if len(parts) > 2:
            errors.add(f"rule packs: {_shown(key)} ignored (a pack is one level below the prefix)")
            continue
        if len(chosen) >= MAX_RULE_FILES:
            over_count += 1
            continue
        size = item.get("Size")
        if not isinstance(size, int) or size < 0 or size > MAX_RULE_FILE_BYTES:
            errors.add(f"rule packs: {_shown(key)} ignored (larger than {MAX_RULE_FILE_BYTES} bytes)")
            continue
        if total + size > MAX_TOTAL_BYTES:
            errors.add(f"rule packs: {_shown(key)} ignored (the packs exceed {MAX_TOTAL_BYTES} bytes in all)")
            continue
        raw_pack = parts[0] if len(parts) == 2 else DEFAULT_PACK
        # Two raw names that sanitise alike ("a.b", "a_b") stay two packs.
        pack = pack_of.get(raw_pack)
        if pack is None:
            pack = base = pack_name(raw_pack)
            taken = set(pack_of.values())
            counter = 2
            while pack in taken:
                pack = f"{base[: MAX_PACK_NAME - 8]}-{counter}"
                counter += 1
            pack_of[raw_pack] = pack
        name = base_name = _file_name(parts[-1])
        counter = 2
        while (pack, name) in used:
            stem, _dot, suffix = base_name.rpartition(".")
            name = f"{stem}-{counter}.{suffix}"
            counter += 1
        used.add((pack, name))
        total += size
        chosen.append(RuleFile(key, str(item.get("ETag", "")), size, pack, name))
    if over_count:
        errors.add(f"rule packs: {over_count} rule files beyond the first {MAX_RULE_FILES} ignored")
    return chosen


def _list(s3: Any, bucket: str, prefix: str, errors: PackErrors) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
        if token:
            request["ContinuationToken"] = token
        page = s3.list_objects_v2(**request)
        objects.extend(page.get("Contents") or [])
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return objects
        if len(objects) >= MAX_LISTED_OBJECTS:
            errors.add(f"rule packs: listing stopped after {len(objects)} objects under s3://{bucket}/{prefix}")
            return objects


def _download(s3: Any, bucket: str, rule: RuleFile, path: Path) -> None:
    response = s3.get_object(Bucket=bucket, Key=rule.key)
    body = response["Body"]
    try:
        # Never more than the cap, whatever the object became since it was listed.
        content = body.read(MAX_RULE_FILE_BYTES + 1)
    finally:
        body.close()
    if len(content) > MAX_RULE_FILE_BYTES:
        raise ValueError(f"larger than {MAX_RULE_FILE_BYTES} bytes")
    etag = response.get("ETag")
    if rule.etag and etag and etag != rule.etag:
        # Replaced between the listing and now: the mirror would not match its fingerprint.
        raise ValueError("changed while being downloaded")
    path.parent.mkdir(exist_ok=True)
    with open(path, "xb") as out:
        out.write(content)


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__


class RulePackMirror:
    """The per-process mirror of one bucket/prefix of rule packs."""

    def __init__(self, temp_root: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._temp_root = temp_root
        self._clock = clock
        # When the mirrored listing was taken, and of which bucket and prefix.
        self._listed: tuple[float, str, str] | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._root: Path | None = None
        self._dirs: tuple[str, ...] = ()
        self._origin = ""

    @property
    def root(self) -> Path | None:
        """The directory currently holding the mirrored packs (None when there is none)."""
        return self._root

    def load(
        self, s3: Any, bucket: str, prefix: str, refresh_seconds: float = 0
    ) -> tuple[tuple[str, ...], list[str]]:
        """The local pack directories for `analyze(extra_rule_dirs=...)`, and the problems met.

        A complete mirror of a listing younger than `refresh_seconds` is used without listing again.
        """
        errors = PackErrors()
        now = self._clock()
        if (
            self._listed is not None
            and self._fingerprint is not None
            and self._listed[1:] == (bucket, prefix)
            and now - self._listed[0] < refresh_seconds
            and (self._root is None or self._root.is_dir())
        ):
            return self._dirs, errors.as_list()
        self._listed = None
        try:
            objects = _list(s3, bucket, prefix, errors)
        except (ClientError, BotoCoreError) as error:
            errors.add(f"rule packs: cannot list s3://{bucket}/{prefix}: {_error_code(error)}; bundled rules only")
            return (), errors.as_list()
        chosen = select(objects, prefix, errors)
        fingerprint = (bucket, prefix, tuple((r.key, r.etag, r.size) for r in chosen))
        if not (fingerprint == self._fingerprint and (self._root is None or self._root.is_dir())):
            self._replace(s3, bucket, prefix, chosen, fingerprint, errors)
        if self._fingerprint is not None:
            self._listed = (now, bucket, prefix)
        return self._dirs, errors.as_list()

    def close(self) -> None:
        """Removes the local mirror (a process that ends cleanly leaves nothing in the temp dir)."""
        if self._root is not None:
            _forget(self._root)
        self._fingerprint, self._root, self._dirs = None, None, ()

    def rewrite(self, message: str) -> str:
        """An engine error about a mirrored pack, with the S3 location instead of the temp path."""
        if self._root is None:
            return message
        return message.replace(f"{self._root}{os.sep}", self._origin)

    def _replace(
        self,
        s3: Any,
        bucket: str,
        prefix: str,
        chosen: list[RuleFile],
        fingerprint: tuple[Any, ...],
        errors: PackErrors,
    ) -> None:
        old = self._root
        root: Path | None = None
        complete = True
        if chosen:
            root = Path(tempfile.mkdtemp(prefix="sandtrap-rules-", dir=self._temp_root)).resolve()
            for rule in chosen:
                path = (root / rule.pack / rule.file_name).resolve()
                # Names are sanitised already; this is the last line should that ever be wrong.
                if path.parent.parent != root:
                    errors.add(f"rule packs: {_shown(rule.key)} refused (outside the pack directory)")
                    continue
                try:
                    _download(s3, bucket, rule, path)
                except (ClientError, BotoCoreError) as error:
                    complete = False
                    errors.add(f"rule packs: cannot read {_shown(rule.key)}: {_error_code(error)}")
                except (OSError, ValueError) as error:
                    complete = False
                    errors.add(f"rule packs: cannot read {_shown(rule.key)}: {error}")
        self._root = root
        self._origin = f"s3://{bucket}/{prefix}"
        self._dirs = tuple(sorted(str(p) for p in root.iterdir() if p.is_dir())) if root else ()
        # A partial mirror is used for this analysis but not remembered: the next one retries.
        self._fingerprint = fingerprint if complete else None
        if old is not None and old != root:
            _forget(old)


def _forget(directory: Path) -> None:
    """Removes a mirror that was replaced, with its compiled packs (a long-lived worker would
    otherwise keep every version of every pack it ever saw)."""
    prefix = f"{directory}{os.sep}"
    for cached in [path for path in yara_rules._cache if path.startswith(prefix)]:  # noqa: SLF001
        yara_rules._cache.pop(cached, None)  # noqa: SLF001
    shutil.rmtree(directory, ignore_errors=True)
