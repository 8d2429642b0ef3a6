"""The sample events in events/ drive the real handlers on the local stack."""

from __future__ import annotations

import json

from local.template_model import ROOT

EVENTS = ROOT / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_sample_events_run_the_task_handlers_in_order(stack):
    request = load("clone_request.json")
    request["cloneId"] = "events-" + request["cloneId"]

    started = stack.invoke("StartCloneFunction", request)
    assert started["status"] == "QUEUED" and started["ticket"]
    # The sample status event has the shape StartClone returns.
    sample = load("check_clone_status.json")
    assert set(sample) == set(started) and set(sample["poll"]) == set(started["poll"])

    checked = stack.invoke("CheckCloneStatusFunction", started)
    assert checked["status"] in ("QUEUED", "IN_PROGRESS") and checked["poll"]["attempt"] == 1

    failure = load("record_failure.json")
    failure["cloneId"] = request["cloneId"]
    recorded = stack.invoke("RecordFailureFunction", failure)
    assert recorded["failure"] == {
        "errorCode": "TARGET_PRODUCTS_NOT_EMPTY",
        "errorMessage": "Target store products should be empty",
    }
    assert stack.job(request["cloneId"])["status"] == "FAILED"
