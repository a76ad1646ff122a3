"""WildFire's emulator driven by pan-python's `pan.wfapi`, the WildFire client Palo Alto Networks points to
(see steps.py for the protocol).

The cycle: submit(file=…) → verdict(hash) until it is no longer -100 (pending) → report(hash) as
XML and as PDF (an attachment). Every error raises `PanWFapiError`; the client keeps the HTTP status
in `http_code`, which the driver reports. WildFire has no list or delete.
"""
import os
import re
import tempfile

import pan.wfapi

from steps import poll, run, step


class Client:
    """A PanWFapi whose failures carry the HTTP status it recorded (pan-python keeps it on the client)."""

    def __init__(self, spec, key=None):
        origin = spec["url"].split("://", 1)[1].split("/", 1)[0]
        self.api = pan.wfapi.PanWFapi(hostname=origin, api_key=key or spec["key"], http=True, timeout=10)

    def __call__(self, method, **kwargs):
        try:
            getattr(self.api, method)(**kwargs)
        except pan.wfapi.PanWFapiError as error:
            # Over plain http (the emulator) pan-python lets urllib raise for an HTTP error status (its
            # error processor only covers https), so http_code stays None and the message is urllib's
            # "HTTP Error <status>: <reason>", the same format pan-python writes itself over https.
            status = re.match(r"HTTP Error (\d+)", str(error))
            error.http_code = self.api.http_code or (int(status.group(1)) if status else None)
            raise
        return self.api


def text(root, path):
    node = root.find(path)
    return None if node is None else node.text


def submit(wf, spec):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, spec["filename"])
        with open(path, "w") as f:
            f.write(spec["sample"])
        return step("submit", lambda: wf("submit", file=path),
                    lambda api: {"sha256": text(api.xml_element_root, "upload-file-info/sha256"),
                                 "filename": text(api.xml_element_root, "upload-file-info/filename")})


def cycle(spec):
    wf = Client(spec)
    if not submit(wf, spec):
        return
    sha256 = text(wf.api.xml_element_root, "upload-file-info/sha256")
    pending = str(pan.wfapi.PENDING)
    done = poll("verdict", lambda: text(wf("verdict", hash=sha256).xml_element_root, "get-verdict-info/verdict"),
                lambda verdict: verdict != pending)
    if done is None:
        return
    step("report_xml", lambda: wf("report", hash=sha256, format="xml"),
         lambda api: {"sha256": text(api.xml_element_root, "file_info/sha256"),
                      "malware": text(api.xml_element_root, "file_info/malware"),
                      "tasks": len(api.xml_element_root.findall("task_info/report"))})
    step("report_pdf", lambda: wf("report", hash=sha256, format="pdf"),
         lambda api: {"filename": api.attachment["filename"], "pdf": api.attachment["content"].startswith(b"%PDF")})


run({
    "cycle": cycle,
    "bad-key": lambda spec: submit(Client(spec, "not-the-key"), spec),
    "unknown-id": lambda spec: [
        step("verdict", lambda: text(Client(spec)("verdict", hash="0" * 64).xml_element_root, "get-verdict-info/verdict")),
        step("report", lambda: Client(spec)("report", hash="0" * 64, format="xml")),
    ],
    "quota": lambda spec: submit(Client(spec), spec),
})
