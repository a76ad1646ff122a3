"""Joe Sandbox's emulator driven by jbxapi, Joe Security's official client (see steps.py for the protocol).

The cycle uses jbxapi's defaults, among them the chunked upload of `submit_sample` (`chunked-sample`
on `submission/new`, then the bytes to `submission/chunked-sample`).
"""
import io
import json

import jbxapi

from steps import poll, run, step


def client(spec, key=None):
    # retries=0: jbxapi retries only timeouts, with real sleeps; the emulator answers at once.
    return jbxapi.JoeSandbox(apikey=key or spec["key"], apiurl=spec["url"], accept_tac=True, timeout=10, retries=0)


def submit(joe, spec):
    sample = (spec["filename"], io.BytesIO(spec["sample"].encode()))
    return step("submit", lambda: joe.submit_sample(sample))


def cycle(spec):
    joe = client(spec)
    step("server_online", joe.server_online)
    submitted = submit(joe, spec)
    if not submitted:
        return
    submission_id = submitted["submission_id"]
    info = poll("submission_info", lambda: joe.submission_info(submission_id), lambda i: i["status"] == "finished",
                lambda i: {"status": i["status"], "webid": (i.get("most_relevant_analysis") or {}).get("webid")})
    if not info:
        return
    webid = info["most_relevant_analysis"]["webid"]
    step("analysis_info", lambda: joe.analysis_info(webid),
         lambda a: {"webid": a["webid"], "status": a["status"], "detection": a["detection"], "score": a["score"]})

    def report(downloaded):
        name, body = downloaded
        document = json.loads(body)["analysis"]
        empiric = next(s for s in document["signaturedetections"]["strategy"] if s["@name"] == "empiric")
        return {"name": name, "sha256": document["fileinfo"]["sha256"], "detection": empiric["detection"],
                "score": empiric["score"]}

    step("analysis_download", lambda: joe.analysis_download(webid, "jsonfixed"), report)
    step("submission_delete", lambda: joe.submission_delete(submission_id))
    step("submission_info_after_delete", lambda: joe.submission_info(submission_id))


run({
    "cycle": cycle,
    "bad-key": lambda spec: step("server_online", client(spec, "not-the-key").server_online),
    "unknown-id": lambda spec: step("submission_info", lambda: client(spec).submission_info("999999")),
    "quota": lambda spec: submit(client(spec), spec),
    "rate-limited": lambda spec: submit(client(spec), spec),
})
