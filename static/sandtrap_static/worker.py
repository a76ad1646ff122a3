"""`python -m sandtrap_static.worker`: the Lambda handler as a long-lived local process.

The local runtime (local/static-worker.ts) runs the static engine's Task through this worker, so
that the local pipeline executes the very same `lambda_function.handler` as AWS, and keeps the
warm-process behaviour (one S3 client, compiled rules, the rule-pack mirror) across requests.

Protocol, one JSON object per line, one request at a time:

- stdin:  {"id": <int>, "event": {...}}
- stdout: {"id": <int>, "result": ...}
          {"id": <int>, "error": {"errorType": <exception class name>, "errorMessage": <str>}}

Stdout carries nothing else: fd 1 points at stderr for the whole life of the process (libraries
print), and the answers go to a duplicate of the original stdout. End of input ends the worker.
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
from typing import IO, Any

from .budget import HardTimeout
from .guard import stdout_to_stderr, write_all
from .lambda_function import close, handler, take_s3_usage

# Requests are small (a sample's description); anything longer is a broken caller.
MAX_REQUEST_BYTES = 1024 * 1024
MAX_ERROR_MESSAGE = 2000


def _error(request_id: Any, error_type: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "error": {"errorType": error_type, "errorMessage": message[:MAX_ERROR_MESSAGE]}}


def _answer(fd: int, answer: dict[str, Any]) -> None:
    try:
        line = json.dumps(answer, ensure_ascii=True, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        line = json.dumps(_error(answer.get("id"), "WorkerError", f"result is not JSON: {error}"))
    write_all(fd, (line + "\n").encode())


def _request(line: bytes) -> tuple[Any, Any]:
    """The id and event of one request line; raises ValueError when it is not one."""
    request = json.loads(line)
    if not isinstance(request, dict) or "event" not in request:
        raise ValueError('a request is {"id": <int>, "event": {...}}')
    request_id = request.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise ValueError("the request id must be an integer")
    return request_id, request["event"]


def _skip_rest_of_line(stdin: IO[bytes]) -> None:
    while True:
        rest = stdin.readline(MAX_REQUEST_BYTES)
        if not rest or rest.endswith(b"\n"):
            return


def serve(stdin: IO[bytes]) -> int:
    """Answers requests until end of input."""
    with stdout_to_stderr() as out:
        while True:
            line = stdin.readline(MAX_REQUEST_BYTES + 1)
            if not line:
                return 0
            if len(line) > MAX_REQUEST_BYTES:
                _skip_rest_of_line(stdin)
                _answer(out, _error(None, "InvalidRequest", f"request longer than {MAX_REQUEST_BYTES} bytes"))
                continue
            if not line.strip():
                continue
            try:
                request_id, event = _request(line)
            except ValueError as error:  # json.JSONDecodeError is a ValueError
                _answer(out, _error(None, "InvalidRequest", str(error)))
                continue
            try:
                answer = {"id": request_id, "result": handler(event, None)}
            except (Exception, HardTimeout) as error:  # noqa: BLE001 - reported to the caller by name, as Lambda does
                traceback.print_exc(file=sys.stderr)
                answer = _error(request_id, type(error).__name__, str(error))
            answer["usage"] = take_s3_usage()
            _answer(out, answer)


def main() -> int:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when workers end
    # (end of input, or a kill on timeout), so a request is never cut by the parent's interrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return serve(sys.stdin.buffer)
    finally:
        close()


if __name__ == "__main__":
    sys.exit(main())
