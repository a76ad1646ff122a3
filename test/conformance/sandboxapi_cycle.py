"""Drive one Sandtrap vendor emulator with the reference client, sandboxapi 1.7.x.

Runs sandboxapi's own cycle -- is_available, analyze, check (polled), report, score -- and prints
one JSON document describing every step, or the step where sandboxapi stopped and why. The
vitest conformance test reads that document; nothing here knows what the result should be.

Usage: python sandboxapi_cycle.py '{"vendor": "cuckoo", "url": "http://127.0.0.1:1234/", ...}'
Only loopback URLs are accepted: this must never reach a real sandbox.
"""
import inspect
import io
import json
import sys
import time
from urllib.parse import urlparse


def build(spec):
    vendor, url = spec["vendor"], spec["url"]
    key = spec.get("key", "")
    if vendor in ("cuckoo", "cape"):
        from sandboxapi.cuckoo import CuckooAPI
        return CuckooAPI(url)
    if vendor == "falcon":
        from sandboxapi.falcon import FalconAPI
        return FalconAPI(key, url=url, env=spec.get("env", 100))
    if vendor == "fireeye":
        from sandboxapi.fireeye import FireEyeAPI
        return FireEyeAPI(spec["username"], spec["password"], url, spec.get("profile", "win10x64m"))
    if vendor == "joe":
        from sandboxapi.joe import JoeAPI
        return JoeAPI(key, url, True, timeout=10, retries=0)
    if vendor == "vmray":
        from sandboxapi.vmray import VMRayAPI
        return VMRayAPI(key, url=url)
    if vendor == "wildfire":
        from sandboxapi.wildfire import WildFireAPI
        return WildFireAPI(key, url=url)
    if vendor == "triage":
        from sandboxapi.triage import TriageAPI
        return TriageAPI(key, url=url)
    raise SystemExit("unknown vendor " + vendor)


def main():
    spec = json.loads(sys.argv[1])
    host = urlparse(spec["url"]).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("refusing a non-loopback URL: " + spec["url"])
    steps = []
    result = {"vendor": spec["vendor"], "steps": steps, "completed": False}

    def step(name, call):
        started = time.time()
        try:
            value = call()
        except Exception as error:  # the document records whatever stopped sandboxapi
            steps.append({"step": name, "ok": False, "error": type(error).__name__, "message": str(error)[:500],
                          "ms": int((time.time() - started) * 1000)})
            raise StopIteration
        steps.append({"step": name, "ok": True, "value": value, "ms": int((time.time() - started) * 1000)})
        return value

    if spec["vendor"] == "opswat":
        # 1.7.x's OpswatAPI targets MetaDefender Cloud v4 and takes no URL: it cannot be pointed at
        # any emulator (or self-hosted sandbox). Report its signature instead of calling it.
        from sandboxapi.opswat import OpswatAPI
        steps.append({"step": "construct", "ok": False, "error": "NoUrlParameter",
                      "message": "OpswatAPI" + str(inspect.signature(OpswatAPI.__init__))})
        print(json.dumps(result))
        return
    try:
        api = build(spec)
        step("is_available", lambda: bool(api.is_available()))
        sample = spec.get("sample", "// SANDTRAP-TEST-MALICIOUS inert marker\n").encode()
        item = step("analyze", lambda: str(api.analyze(io.BytesIO(sample), spec.get("filename", "sample.js"))))
        done = False
        for _ in range(int(spec.get("polls", 40))):
            done = step("check", lambda: bool(api.check(item)))
            if done:
                break
            time.sleep(float(spec.get("interval", 0.25)))
        if not done:
            steps.append({"step": "check", "ok": False, "error": "NeverDone", "message": "check() never returned True"})
            raise StopIteration
        report = step("report", lambda: api.report(item))
        if spec["vendor"] == "wildfire":
            score = step("score", lambda: api.score())
        elif spec["vendor"] == "triage":
            score = step("score", lambda: api.score(item))
        else:
            score = step("score", lambda: api.score(report))
        result["completed"] = True
        result["score"] = score
    except StopIteration:
        pass
    # Reports can be large and not JSON-serialisable (bytes): keep only a type and size.
    for s in steps:
        if s["step"] == "report" and s.get("ok"):
            value = s["value"]
            s["value"] = {"type": type(value).__name__, "size": len(json.dumps(value, default=str))}
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
