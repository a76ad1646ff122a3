"""VMRay's emulator driven by vmray-rest-api, VMRay's official client (see steps.py for the protocol).

The client is one generic call (`VMRayRESTAPI.call(method, path, params)`) over VMRay's documented
routes; the cycle uses those VMRay's own integrations use: system_info, sample/submit with a
`sample_file`, submission/<id> until `submission_finished`, analysis?analysis_submission_id=, the
analysis archive's logs/summary_v2.json (raw), sample/<id> and submission/sample/<id> (the list).
HTTP errors raise `VMRayRESTAPIError` with `status_code`; refusals of a submission (quota,
unsupported type) come inside HTTP 200 as `data.errors`, which the client returns, not raises.
"""
import json
import os
import tempfile

from vmray.rest_api import VMRayRESTAPI

from steps import poll, run, step


def client(spec, key=None):
    return VMRayRESTAPI(spec["url"], key or spec["key"])


def submit(api, spec):
    # The client names the upload after the file object's `name`: a real file, as its users pass.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, spec["filename"])
        with open(path, "w") as f:
            f.write(spec["sample"])
        with open(path, "rb") as f:
            return step("sample_submit", lambda: api.call("POST", "/rest/sample/submit", {"sample_file": f}),
                        lambda d: {"submissions": [s["submission_id"] for s in d["submissions"]],
                                   "samples": [s["sample_id"] for s in d["samples"]],
                                   "jobs": len(d["jobs"]), "errors": [e["error_msg"] for e in d["errors"]]})


def cycle(spec):
    api = client(spec)
    step("system_info", lambda: api.call("GET", "/rest/system_info"), lambda d: {"version": d["version"]})
    submitted = submit(api, spec)
    if not submitted:
        return
    submission_id = submitted["submissions"][0]["submission_id"]
    sample_id = submitted["samples"][0]["sample_id"]
    finished = poll("submission", lambda: api.call("GET", f"/rest/submission/{submission_id}"),
                    lambda s: s["submission_finished"],
                    lambda s: {"id": s["submission_id"], "finished": s["submission_finished"]})
    if not finished:
        return
    analyses = step("analyses", lambda: api.call("GET", "/rest/analysis", {"analysis_submission_id": submission_id}),
                    lambda a: [{"id": x["analysis_id"], "verdict": x["analysis_verdict"]} for x in a])
    if not analyses:
        return
    top = max(analyses, key=lambda a: a["analysis_vti_score"])["analysis_id"]

    def summary():
        raw = api.call("GET", f"/rest/analysis/{top}/archive/logs/summary_v2.json", raw_data=True)
        return json.loads(raw.read())

    step("summary_v2", summary, lambda s: {"verdict": s["analysis_metadata"]["verdict"],
                                           "filename": s["analysis_metadata"]["submission_filename"],
                                           "vti_matches": len(s["vti"]["matches"])})
    step("sample", lambda: api.call("GET", f"/rest/sample/{sample_id}"),
         lambda s: {"sha256": s["sample_sha256hash"], "verdict": s["sample_verdict"]})
    step("submissions_of_sample", lambda: api.call("GET", f"/rest/submission/sample/{sample_id}"),
         lambda l: [s["submission_id"] for s in l])


run({
    "cycle": cycle,
    "bad-key": lambda spec: step("system_info", lambda: client(spec, "not-the-key").call("GET", "/rest/system_info")),
    "unknown-id": lambda spec: step("submission", lambda: client(spec).call("GET", "/rest/submission/999999")),
    "quota": lambda spec: submit(client(spec), spec),
    "rate-limited": lambda spec: submit(client(spec), spec),
})
