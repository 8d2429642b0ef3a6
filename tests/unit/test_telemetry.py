"""The clone metrics come out as CloudWatch EMF lines, once per clone event."""

from __future__ import annotations

import time

from ecwid_cloner.state import CloneState
from ecwid_cloner.telemetry import record_outcome, record_started


def state(**fields) -> CloneState:
    """A step's state with these fields (a poll gets the fields it always has)."""
    if "poll" in fields:
        fields["poll"] = {"deadlineAt": time.time() + 3600, "waitSeconds": 30, **fields["poll"]}
    return CloneState.from_state(
        {"cloneId": "2001-test", "request": {"sourceStoreId": 1003, "targetStoreId": 2001}, **fields}
    )


def metric_names(lines: list[dict]) -> list[str]:
    return [m["Name"] for line in lines for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]


def test_a_new_ticket_counts_one_clone_started(emitted):
    record_started(state(status="QUEUED", poll={"attempt": 0, "startedAt": time.time()}))
    record_started(state(status="COMPLETED"))  # a re-run of a finished clone starts nothing

    lines = emitted()
    assert metric_names(lines) == ["ClonesStarted"]
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "StoreCloner"


def test_a_completed_clone_reports_duration_and_polls(emitted):
    record_outcome(state(status="COMPLETED", poll={"attempt": 7, "startedAt": time.time() - 300}))

    lines = emitted()
    assert metric_names(lines) == ["ClonesCompleted", "CloneDurationSeconds", "PollsPerClone"]
    assert 299 <= lines[1]["CloneDurationSeconds"][0] <= 310  # EMF values come as lists
    assert lines[2]["PollsPerClone"] == [7]


def test_a_failed_clone_is_counted_by_its_ecwid_error_code(emitted):
    record_outcome(state(status="FAILED", failure={"errorCode": "TARGET_PRODUCTS_NOT_EMPTY"}))

    (line,) = emitted()
    assert line["ClonesFailed"] == [1.0] and line["ErrorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"
    assert ["ErrorCode"] in [dims[-1:] for dims in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]]


def test_a_clone_still_polling_emits_nothing(emitted):
    record_outcome(state(status="IN_PROGRESS", poll={"attempt": 3, "startedAt": time.time()}))
    assert emitted() == []
