"""What every official-client driver shares: the spec it is given, and one JSON line per step.

A driver is run as `python <vendor>_driver.py '<spec>'`, the spec a JSON object with at least `url` (the
emulator's API base), `key` and `path` (`cycle`, or an error path: `bad-key`, `unknown-id`,
`quota`, `rate-limited`). It calls the vendor's client and prints, for each step, one line
`{"step", "ok": true, "value"}` or `{"step", "ok": false, "error": <exception class>, "status":
<HTTP status the client recorded, if any>, "message"}`. The vitest suite
(test/conformance/official-clients.test.ts) decides what each line should be; nothing here does.

Only loopback URLs are accepted: a driver must never reach a real sandbox.
"""
import json
import sys
from urllib.parse import urlparse


def spec():
    """The driver's spec from argv, refusing any URL that is not on loopback."""
    given = json.loads(sys.argv[1])
    if urlparse(given["url"]).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("refusing a non-loopback URL: " + given["url"])
    return given


def status_of(error):
    """The HTTP status a client's exception carries, under whichever name the client gives it."""
    for name in ("status", "status_code", "http_code"):
        value = getattr(error, name, None)
        if isinstance(value, int):
            return value
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def step(name, call, show=lambda value: value):
    """Runs one client call and prints its line; returns the call's value, or None when it raised."""
    try:
        value = call()
    except Exception as error:  # the line records whichever exception the client raised
        line = {"step": name, "ok": False, "error": type(error).__name__, "status": status_of(error),
                "message": str(error)[:300]}
        print(json.dumps(line, default=str), flush=True)
        return None
    print(json.dumps({"step": name, "ok": True, "value": show(value)}, default=str), flush=True)
    return value


def poll(name, call, done, show=lambda value: value, limit=60):
    """Calls `call` until `done(value)`; the emulators' clock moves with each request, so no sleeping."""
    for _ in range(limit):
        value = step(name, call, show)
        if value is None or done(value):
            return value
    print(json.dumps({"step": name, "ok": False, "error": "NeverDone", "message": f"not done after {limit} polls"}),
          flush=True)
    return None


def run(paths):
    """Runs the path the spec names, from `paths` (name -> function taking the spec)."""
    given = spec()
    paths[given["path"]](given)
