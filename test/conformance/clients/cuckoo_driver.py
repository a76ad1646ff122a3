"""Cuckoo 2's emulator driven the way Cuckoo documents its REST API (see steps.py for the protocol).

Cuckoo has no client library. Every call is the `requests` call of Cuckoo 2's `docs/book/usage/api.rst`
against the routes of `cuckoo/apps/api.py`: `requests.post(<api>/tasks/create/file,
headers={"Authorization": "Bearer <token>"}, files={"file": (name, sample)})`, then `requests.get`
of tasks/view/<id>, tasks/report/<id>, tasks/list and tasks/delete/<id>. Errors are HTTP statuses
with `{"message": …}` (`json_error`).
"""
import io

import requests

from steps import poll, run, step


class Api:
    def __init__(self, spec, token=None):
        self.base = spec["url"].rstrip("/")
        self.headers = {"Authorization": f"Bearer {token or spec['key']}"}

    def get(self, path):
        return self.answer(requests.get(f"{self.base}/{path}", headers=self.headers, timeout=10))

    def submit(self, spec):
        files = {"file": (spec["filename"], io.BytesIO(spec["sample"].encode()))}
        return self.answer(requests.post(f"{self.base}/tasks/create/file", headers=self.headers, files=files,
                                         timeout=10))

    @staticmethod
    def answer(response):
        # "Add your code to error checking for r.status_code" (api.rst): raise for an HTTP error.
        response.raise_for_status()
        return response.json()


def cycle(spec):
    api = Api(spec)
    submitted = step("tasks_create_file", lambda: api.submit(spec))
    if not submitted:
        return
    task_id = submitted["task_id"]
    task = poll("tasks_view", lambda: api.get(f"tasks/view/{task_id}"),
                lambda v: v["task"]["status"] in ("reported", "failed_analysis", "failed_processing"),
                lambda v: {"id": v["task"]["id"], "status": v["task"]["status"]})
    if not task:
        return
    step("tasks_report", lambda: api.get(f"tasks/report/{task_id}"),
         lambda r: {"id": r["info"]["id"], "score": r["info"]["score"], "sha256": r["target"]["file"]["sha256"],
                    "signatures": [s["name"] for s in r["signatures"]]})
    step("tasks_list", lambda: api.get("tasks/list"), lambda l: [t["id"] for t in l["tasks"]])
    step("tasks_delete", lambda: api.get(f"tasks/delete/{task_id}"))
    step("tasks_view_after_delete", lambda: api.get(f"tasks/view/{task_id}"))


run({
    "cycle": cycle,
    "bad-key": lambda spec: step("tasks_create_file", lambda: Api(spec, "not-the-token").submit(spec)),
    "unknown-id": lambda spec: step("tasks_view", lambda: Api(spec).get("tasks/view/999999")),
    "quota": lambda spec: step("tasks_create_file", lambda: Api(spec).submit(spec)),
    "rate-limited": lambda spec: step("tasks_create_file", lambda: Api(spec).submit(spec)),
})
