"""CAPEv2's emulator driven the way CAPE's own code calls its REST API v2 (see steps.py for the protocol).

CAPE has no client library. The submission is the one of CAPEv2 `utils/submit.py` (remote mode):
`requests.post(<host>/apiv2/tasks/create/file/, headers={"Authorization": f"Token {token}"},
files=dict(file=f, filename=filename), data=dict(package=…, timeout=…, …))`, unset options left as
None (requests drops them); every other call is the `requests.get(url, headers=headers)` of
`docs/book/src/usage/api.rst`, on the trailing-slash routes of `web/apiv2/urls.py`. Application
errors come inside HTTP 200 as `{"error": true, "error_value": …}`; DRF answers 401 and 429 itself.
"""
import io

import requests

from steps import poll, run, step


class Api:
    def __init__(self, spec, token=None):
        self.base = spec["url"].rstrip("/") + "/"
        self.headers = {"Authorization": f"Token {token or spec['key']}"}

    def get(self, path):
        return self.answer(requests.get(self.base + path, headers=self.headers, timeout=10))

    def submit(self, spec):
        sample = io.BytesIO(spec["sample"].encode())
        sample.name = spec["filename"]
        files = dict(file=sample, filename=spec["filename"])
        data = dict(package=None, timeout=60, options=None, priority=1, machine=None, platform=None,
                    memory=False, enforce_timeout=False, custom=None, tags=None, route=None)
        return self.answer(requests.post(self.base + "tasks/create/file/", headers=self.headers, files=files,
                                         data=data, timeout=10))

    @staticmethod
    def answer(response):
        # As CAPE's callers do: raise for an HTTP error, else read the JSON envelope.
        response.raise_for_status()
        return response.json()


def cycle(spec):
    api = Api(spec)
    submitted = step("tasks_create_file", lambda: api.submit(spec))
    if not submitted:
        return
    task_id = submitted["data"]["task_ids"][0]
    status = poll("tasks_status", lambda: api.get(f"tasks/status/{task_id}/"),
                  lambda s: s["data"] in ("reported", "failed_analysis", "failed_processing"))
    if not status:
        return
    step("tasks_view", lambda: api.get(f"tasks/view/{task_id}/"),
         lambda v: {"id": v["data"]["id"], "status": v["data"]["status"], "sha256": v["data"]["sample"]["sha256"]})
    step("tasks_get_report", lambda: api.get(f"tasks/get/report/{task_id}/json/"),
         lambda r: {"id": r["info"]["id"], "sha256": r["target"]["file"]["sha256"], "malscore": r["malscore"],
                    "malstatus": r["malstatus"], "families": [d["family"] for d in r["detections"]]})
    step("tasks_list", lambda: api.get("tasks/list/"), lambda l: [t["id"] for t in l["data"]])
    step("tasks_delete", lambda: api.get(f"tasks/delete/{task_id}/"))
    step("tasks_view_after_delete", lambda: api.get(f"tasks/view/{task_id}/"))


run({
    "cycle": cycle,
    "bad-key": lambda spec: step("tasks_create_file", lambda: Api(spec, "not-the-token").submit(spec)),
    "unknown-id": lambda spec: [step("tasks_view", lambda: Api(spec).get("tasks/view/999999/")),
                                step("tasks_status", lambda: Api(spec).get("tasks/status/999999/"))],
    "rate-limited": lambda spec: step("tasks_create_file", lambda: Api(spec).submit(spec)),
})
