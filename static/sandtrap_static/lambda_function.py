"""The static engine as an AWS Lambda (python3.12): `handler(event, context)`.

The state machine calls it with the sample triage described:

    {"engine": "static", "sample": {bucket, key, versionId, uploadId, size, sha256, sha1, md5,
                                    fileType, mimeType}}

It reads the object (the exact version triage hashed), checks it still has that sha256, analyses it
with the bundled rules plus the user's rule packs from S3 (`s3_rule_packs`), writes the full report
to `reports/<sha256>/static.json` in the reports bucket and returns a small EngineResult:

    {"engine": "static", "status": "completed", "verdict": ..., "score": ..., "reportKey": ...,
     "threats": [...], "reason"?: ...}

Failures Step Functions should see by name raise `InvalidInput` (the event is not the contract)
or `ObjectChanged` (the bytes are no longer the ones triage hashed); S3 errors propagate as
botocore raises them. The local runtime runs this same function in `worker.py`.

Environment: `SANDTRAP_REPORTS_BUCKET`; `SANDTRAP_SETTINGS` (JSON: `policy.suspiciousAt`,
`policy.maliciousAt`, `static.maxFileBytes`, `static.rulePacks.bucket`/`.prefix`);
`AWS_ENDPOINT_URL_S3` (local S3, path-style addressing); `AWS_REGION`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from .budget import HardTimeout
from .guard import guarded_analyze
from .report import clip
from .s3_rule_packs import RulePackMirror
from .score import DEFAULT_MALICIOUS_AT, DEFAULT_SUSPICIOUS_AT, score, verdict_of

ENGINE = "static"
DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024
DEFAULT_RULES_PREFIX = "rules/"
# Seconds a warm engine trusts its listing of the rule packs (static.rulePacks.refreshSeconds).
DEFAULT_RULES_REFRESH_SECONDS = 60
# What one EngineResult carries (pipeline.ts MAX_THREATS and ThreatSchema bounds).
MAX_RESULT_THREATS = 20
MAX_THREAT_NAME = 200
MAX_THREAT_FAMILY = 200
MAX_THREAT_CATEGORY = 100
CONFIDENCES = ("low", "medium", "high")
# The report's errors: the rule-pack problems first, then the engine's (lambdas/core/contracts/
# static-report.ts reads at most this many).
MAX_REPORT_ERRORS = 60
# S3 is read in pieces this size, so a sample that grew is never read past its expected size.
READ_CHUNK = 1024 * 1024

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-f]{40}")
_MD5 = re.compile(r"[0-9a-f]{32}")
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class InvalidInput(Exception):
    """The event is not `{"engine": "static", "sample": Sample}` (Step Functions sees `InvalidInput`)."""


class ObjectChanged(Exception):
    """The object's bytes are not the ones triage hashed: it was replaced since (`ObjectChanged`)."""


class ConfigurationError(Exception):
    """The function's environment is wrong (a deployment error, not the sample's)."""


class TransientAwsError(Exception):
    """S3 was busy or unreachable (`SlowDown`, `InternalError`, a timeout): the state machine retries."""


# S3's answers that say "try again" rather than "no": the workflow's Retry matches TransientAwsError.
TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling", "ThrottlingException", "503"}
)


@contextmanager
def _s3_call(what: str) -> Iterator[None]:
    """Turns S3's transient failures into TransientAwsError; every other error passes unchanged."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in TRANSIENT_S3_CODES:
            raise TransientAwsError(f"{what}: S3 answered {code}") from error
        raise
    except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError) as error:
        raise TransientAwsError(f"{what}: {type(error).__name__}") from error


@dataclass(frozen=True)
class Settings:
    reports_bucket: str
    suspicious_at: float
    malicious_at: float
    max_file_bytes: int
    rules_bucket: str
    rules_prefix: str
    rules_refresh_seconds: int


def _number(value: Any, default: float, where: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ConfigurationError(f"{where} must be a number from 0 to 100")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where} must be an object")
    return value


def load_settings(env: Any = None) -> Settings:
    """The settings from the environment; absent keys take their defaults."""
    env = os.environ if env is None else env
    reports_bucket = env.get("SANDTRAP_REPORTS_BUCKET")
    if not reports_bucket:
        raise ConfigurationError("SANDTRAP_REPORTS_BUCKET is not set")
    raw = env.get("SANDTRAP_SETTINGS") or "{}"
    try:
        settings = _object(json.loads(raw), "SANDTRAP_SETTINGS")
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"SANDTRAP_SETTINGS is not JSON: {error}") from None
    policy = _object(settings.get("policy"), "SANDTRAP_SETTINGS.policy")
    suspicious_at = _number(policy.get("suspiciousAt"), DEFAULT_SUSPICIOUS_AT, "policy.suspiciousAt")
    malicious_at = _number(policy.get("maliciousAt"), DEFAULT_MALICIOUS_AT, "policy.maliciousAt")
    if suspicious_at >= malicious_at:
        raise ConfigurationError("policy.suspiciousAt must be below policy.maliciousAt")
    static = _object(settings.get("static"), "SANDTRAP_SETTINGS.static")
    max_file_bytes = static.get("maxFileBytes", DEFAULT_MAX_FILE_BYTES)
    if isinstance(max_file_bytes, bool) or not isinstance(max_file_bytes, int) or max_file_bytes <= 0:
        raise ConfigurationError("static.maxFileBytes must be a positive integer")
    packs = _object(static.get("rulePacks"), "SANDTRAP_SETTINGS.static.rulePacks")
    rules_bucket = packs.get("bucket", reports_bucket)
    rules_prefix = packs.get("prefix", DEFAULT_RULES_PREFIX)
    if not isinstance(rules_bucket, str) or not rules_bucket:
        raise ConfigurationError("static.rulePacks.bucket must be a bucket name")
    if not isinstance(rules_prefix, str) or len(rules_prefix) > 512:
        raise ConfigurationError("static.rulePacks.prefix must be a string")
    refresh = packs.get("refreshSeconds", DEFAULT_RULES_REFRESH_SECONDS)
    if isinstance(refresh, bool) or not isinstance(refresh, int) or not 0 <= refresh <= 3600:
        raise ConfigurationError("static.rulePacks.refreshSeconds must be an integer from 0 to 3600")
    # "rules" and "rules/" mean the same folder (and never "rules-old/").
    if rules_prefix and not rules_prefix.endswith("/"):
        rules_prefix += "/"
    return Settings(
        reports_bucket, suspicious_at, malicious_at, max_file_bytes, rules_bucket, rules_prefix, refresh
    )


def _text(sample: dict[str, Any], name: str, max_length: int, min_length: int = 0) -> str:
    value = sample.get(name)
    if not isinstance(value, str) or not min_length <= len(value) <= max_length:
        raise InvalidInput(f"sample.{name} must be a string of {min_length} to {max_length} characters")
    return value


def _hex(sample: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = sample.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(f"sample.{name} must be lowercase hex ({pattern.pattern})")
    return value


def validate_event(event: Any) -> dict[str, Any]:
    """The event's sample, checked field by field (the event comes from our own state machine,
    but a wrong one must fail by name rather than analyse the wrong thing)."""
    if not isinstance(event, dict):
        raise InvalidInput("the event must be an object")
    if event.get("engine", ENGINE) != ENGINE:
        raise InvalidInput('event.engine must be "static"')
    sample = event.get("sample")
    if not isinstance(sample, dict):
        raise InvalidInput("event.sample must be an object")
    version_id = sample.get("versionId")
    if version_id is not None and (not isinstance(version_id, str) or not 0 < len(version_id) <= 1024):
        raise InvalidInput("sample.versionId must be null or a string")
    size = sample.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidInput("sample.size must be an integer >= 0")
    checked = {
        "bucket": _text(sample, "bucket", 255, 1),
        "key": _text(sample, "key", 1024, 1),
        "versionId": version_id,
        "uploadId": _text(sample, "uploadId", 1024),
        "size": size,
        "sha256": _hex(sample, "sha256", _SHA256),
        "sha1": _hex(sample, "sha1", _SHA1),
        "md5": _hex(sample, "md5", _MD5),
        "fileType": _text(sample, "fileType", 256),
        "mimeType": _text(sample, "mimeType", 256),
    }
    if size == 0 and checked["sha256"] != _EMPTY_SHA256:
        raise InvalidInput("sample.size is 0 but sample.sha256 is not the hash of no bytes")
    return checked


_s3: Any = None
_rule_packs = RulePackMirror()


def s3_client() -> Any:
    """One S3 client per process (created on first use: a warm Lambda or the worker reuses it)."""
    global _s3
    if _s3 is None:
        options: dict[str, Any] = {
            "connect_timeout": 5,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        }
        # A local S3 (s3rver in the local runtime, an emulator such as MiniStack) is addressed by path:
        # virtual-hosted names (bucket.127.0.0.1) do not resolve there.
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        if endpoint:
            options["s3"] = {"addressing_style": "path"}
        # botocore reads AWS_DEFAULT_REGION only; Lambda (and the local runtime) set AWS_REGION.
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
        _s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region, config=Config(**options))
        _s3.meta.events.register("before-call.s3", _count_request)
    return _s3


# S3 requests made since `take_s3_usage` was last called: the local worker reports them with each
# answer, so that the cost benchmark prices this function's requests as it does the Node steps'.
_usage: dict[str, Any] = {"s3": {}, "s3BytesWritten": 0}


def _count_request(model: Any = None, params: Any = None, **_: Any) -> None:
    operation = getattr(model, "name", "Unknown")
    _usage["s3"][operation] = _usage["s3"].get(operation, 0) + 1
    body = (params or {}).get("body") if operation == "PutObject" else None
    if isinstance(body, (bytes, bytearray)):
        _usage["s3BytesWritten"] += len(body)


def take_s3_usage() -> dict[str, Any]:
    """The S3 requests (by operation) and PutObject bytes since the last call, and resets them."""
    global _usage
    taken, _usage = _usage, {"s3": {}, "s3BytesWritten": 0}
    return taken


def close() -> None:
    """Releases what the process keeps between invocations on disk (the rule-pack mirror).

    Lambda never ends a process cleanly and /tmp goes with the execution environment; the local
    worker calls this at end of input.
    """
    _rule_packs.close()


def _read_sample(s3: Any, sample: dict[str, Any]) -> bytes:
    """The object's bytes, which must hash to the sample's sha256.

    At most one byte more than triage saw is read (and triage's size is within maxFileBytes): a
    bigger object is a replaced one, so there is no reason to read it all.
    """
    request = {"Bucket": sample["bucket"], "Key": sample["key"]}
    if sample["versionId"] is not None:
        request["VersionId"] = sample["versionId"]
    with _s3_call("reading the sample"):
        response = s3.get_object(**request)
    body = response["Body"]
    limit = sample["size"] + 1
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    total = 0
    try:
        while total < limit:
            with _s3_call("reading the sample"):
                chunk = body.read(min(READ_CHUNK, limit - total))
            if not chunk:
                break
            digest.update(chunk)
            chunks.append(chunk)
            total += len(chunk)
    finally:
        body.close()
    if total != sample["size"] or digest.hexdigest() != sample["sha256"]:
        raise ObjectChanged(
            f"s3://{clip(sample['bucket'], 100)}/{clip(sample['key'], 300)} is no longer the object triage hashed "
            f"({sample['sha256']}); it was replaced since"
        )
    return b"".join(chunks)


def _failure_report(data: bytes, sha256: str, reason: str) -> dict[str, Any]:
    """A report of the usual shape for an analysis that failed: nothing found, the failure in errors."""
    return {
        "schema": 1,
        "fileType": {"type": "binary", "mime": "application/octet-stream"},
        "size": len(data),
        "sha256": sha256,
        "findings": [],
        "threats": [],
        "yara": [],
        "members": [],
        "encrypted": False,
        "errors": [reason],
    }


def _threats(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's threats as the EngineResult's ThreatSchema takes them: absent, never null."""
    threats = []
    for threat in report.get("threats") or []:
        name = threat.get("name")
        if not isinstance(name, str) or not name:
            continue
        item: dict[str, Any] = {"name": name[:MAX_THREAT_NAME], "engine": ENGINE}
        if isinstance(threat.get("category"), str) and threat["category"]:
            item["category"] = threat["category"][:MAX_THREAT_CATEGORY]
        if isinstance(threat.get("family"), str) and threat["family"]:
            item["family"] = threat["family"][:MAX_THREAT_FAMILY]
        if threat.get("confidence") in CONFIDENCES:
            item["confidence"] = threat["confidence"]
        threats.append(item)
        if len(threats) >= MAX_RESULT_THREATS:
            break
    return threats


def report_key(sha256: str) -> str:
    return f"reports/{sha256}/static.json"


def _log(**fields: Any) -> None:
    # stderr: CloudWatch on Lambda; in the worker stdout is the protocol and must stay clean.
    sys.stderr.write(json.dumps({"engine": ENGINE, **fields}, default=str) + "\n")


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Analyses one sample; returns the EngineResult (see the module docstring)."""
    started = time.monotonic()
    sample = validate_event(event)
    settings = load_settings()
    if sample["size"] == 0:
        # Nothing to read and nothing that could be malicious: no S3 call at all.
        return {
            "engine": ENGINE,
            "status": "completed",
            "verdict": "benign",
            "score": 0,
            "reportKey": None,
            "reason": "empty",
            "threats": [],
        }
    if sample["size"] > settings.max_file_bytes:
        return {
            "engine": ENGINE,
            "status": "too_large",
            "verdict": "unknown",
            "score": None,
            "reportKey": None,
            "reason": (
                f"{sample['size']} bytes is over the static engine's limit of {settings.max_file_bytes} bytes "
                "(static.maxFileBytes)"
            ),
        }
    s3 = s3_client()
    data = _read_sample(s3, sample)
    rule_dirs, pack_errors = _rule_packs.load(
        s3, settings.rules_bucket, settings.rules_prefix, refresh_seconds=settings.rules_refresh_seconds
    )
    name = sample["key"].rsplit("/", 1)[-1] or "sample"
    status, reason = "completed", None
    try:
        report = guarded_analyze(data, name, rule_dirs)
    except (Exception, HardTimeout) as error:  # noqa: BLE001 - an engine bug is this engine's error, not the pipeline's
        status, reason = "error", clip(f"static engine failed: {type(error).__name__}: {error}", 500)
        report = _failure_report(data, sample["sha256"], reason)
    errors = [*pack_errors, *(_rule_packs.rewrite(str(e)) for e in report.get("errors") or [])]
    report["errors"] = errors[:MAX_REPORT_ERRORS]
    value = score(report["findings"]) if status == "completed" else None
    verdict = verdict_of(value, settings.suspicious_at, settings.malicious_at)
    report["sample"] = {
        "sha256": sample["sha256"],
        "bucket": sample["bucket"],
        "key": sample["key"],
        "versionId": sample["versionId"],
    }
    # No score is no key (the report's schema has an optional integer, not a nullable one).
    if value is not None:
        report["score"] = value
    report["verdict"] = verdict
    key = report_key(sample["sha256"])
    with _s3_call("writing the report"):
        s3.put_object(
            Bucket=settings.reports_bucket,
            Key=key,
            Body=json.dumps(report, ensure_ascii=True, separators=(",", ":")).encode(),
            ContentType="application/json",
        )
    result: dict[str, Any] = {
        "engine": ENGINE,
        "status": status,
        "verdict": verdict,
        "score": value,
        "reportKey": key,
        "threats": _threats(report),
    }
    if reason:
        result["reason"] = reason
    _log(
        sha256=sample["sha256"],
        status=status,
        verdict=verdict,
        score=value,
        findings=len(report["findings"]),
        errors=len(errors),
        ms=round((time.monotonic() - started) * 1000),
    )
    return result
