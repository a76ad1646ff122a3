"""Triage's emulator driven by hatching-triage, Hatching's official client (module `triage`; see steps.py).

The cycle: submit_sample_file → sample_by_id until `reported` → task_report of a behavioural task →
owned_samples → delete_sample → sample_by_id of the deleted sample. The client raises
`triage.client.ServerError` (with `status` and `kind`) for every HTTP error.
"""
import io

from triage import Client

from steps import poll, run, step


def client(spec, key=None):
    return Client(key or spec["key"], root_url=spec["url"])


def submit(triage, spec):
    return step("submit_sample_file",
                lambda: triage.submit_sample_file(spec["filename"], io.BytesIO(spec["sample"].encode())),
                lambda s: {"id": s["id"], "status": s["status"], "filename": s["filename"]})


def cycle(spec):
    triage = client(spec)
    submitted = submit(triage, spec)
    if not submitted:
        return
    sample_id = submitted["id"]
    sample = poll("sample_by_id", lambda: triage.sample_by_id(sample_id),
                  lambda s: s["status"] in ("reported", "failed"),
                  lambda s: {"id": s["id"], "status": s["status"], "tasks": [t["id"] for t in s["tasks"]]})
    if not sample:
        return
    task = next(t["id"] for t in sample["tasks"] if t["id"].startswith("behavioral"))
    step("task_report", lambda: triage.task_report(sample_id, task),
         lambda r: {"sample": r["sample"]["id"], "sha256": r["sample"]["sha256"], "score": r["analysis"]["score"],
                    "tags": r["analysis"]["tags"], "signatures": [s["name"] for s in r["signatures"]]})
    step("owned_samples", lambda: [s["id"] for s in triage.owned_samples(max=20)])
    step("delete_sample", lambda: triage.delete_sample(sample_id))
    step("sample_by_id_after_delete", lambda: triage.sample_by_id(sample_id))


run({
    "cycle": cycle,
    "bad-key": lambda spec: step("owned_samples", lambda: list(client(spec, "not-the-key").owned_samples())),
    "unknown-id": lambda spec: step("sample_by_id", lambda: client(spec).sample_by_id("261231-unknown000")),
    "quota": lambda spec: submit(client(spec), spec),
    "rate-limited": lambda spec: submit(client(spec), spec),
})
