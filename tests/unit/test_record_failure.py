"""RecordFailure in milliseconds: each error payload Step Functions hands it (a Lambda's error with
its JSON Cause, a States.Timeout, a Cause that is not JSON), each kind of result the handler
dispatches on and the JSON each hands the state machine, and the state it leaves the job in.
In-memory jobs, a clock the test holds."""

from __future__ import annotations

from typing import Any

import pytest

from ecwid_cloner.data.job import iso_utc
from ecwid_cloner.errors import EcwidTerminalError
from ecwid_cloner.models import CloneRequest
from ecwid_cloner.state import CloneState, Poll
from ecwid_cloner.steps.record_failure import (
    CloneFailed,
    EventNotPublished,
    InstantSiteFailed,
    ProfileFailed,
    RecordedFailure,
    RecordFailure,
)
from tests.unit.test_caught_errors import lambda_cause

CLONE_ID = "9001-abc"
REQUEST = CloneRequest(1003, 9001, scope="CATALOG", instant_site_draft=True)
REFUSED = EcwidTerminalError("SOURCE_NOT_FOUND", "Store #1003 not found", 400)
# The error payloads Step Functions puts under the Catch's ResultPath, and what each records.
PAYLOADS = {
    "lambda-error": (
        {"Error": "EcwidTerminalError", "Cause": lambda_cause(REFUSED)},
        ("SOURCE_NOT_FOUND", "Store #1003 not found"),
    ),
    "states-timeout": ({"Error": "States.Timeout"}, ("States.Timeout", "States.Timeout")),
    "cause-not-json": (
        {"Error": "Lambda.Unknown", "Cause": "The Lambda function crashed before returning"},
        ("Lambda.Unknown", "The Lambda function crashed before returning"),
    ),
}
# Each result's JSON keys: what the state machine gets (the handler dispatches on the result's type).
CLONE_FAILED_KEYS = {"cloneId", "request", "ticket", "status", "failure"}
STEP_FAILED_KEYS = {"cloneId", "request", "ticket", "status", "result"}  # and the step's own outcome


def _recorded[T: RecordedFailure](kind: type[T], recorded: RecordedFailure) -> dict[str, Any]:
    """The JSON the handler hands the state machine, of a result of this kind."""
    assert isinstance(recorded, kind), f"{type(recorded).__name__}, not {kind.__name__}"
    return recorded.to_state()


def _running(jobs, clock) -> dict[str, Any]:
    """A clone being polled, as CheckCloneStatus hands its state on."""
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.advance(CLONE_ID, "IN_PROGRESS", ticket="t-1", polls=3)
    poll = Poll(attempt=3, started_at=clock.now - 300, deadline_at=clock.now + 1500, wait_seconds=60)
    return CloneState(CLONE_ID, REQUEST, ticket="t-1", status="IN_PROGRESS", poll=poll).to_state()


def _completed(jobs) -> dict[str, Any]:
    """What RecordProfileFailure and RecordInstantSiteFailure pass: the ASL's Parameters, without the error."""
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.advance(CLONE_ID, "COMPLETED", ticket="t-1", products=2, categories=1)
    state = CloneState(CLONE_ID, REQUEST, ticket="t-1", status="COMPLETED", result={"products": 2, "categories": 1})
    return {key: state.to_state()[key] for key in ("cloneId", "request", "ticket", "result")}


# ---- a failed clone ---------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=list(PAYLOADS))
def test_a_failed_clone_ends_failed_on_the_job_with_the_code_and_message_of_the_error(jobs, clock, payload):
    error, (code, message) = PAYLOADS[payload]
    caught = {**_running(jobs, clock), "error": error}

    answer = _recorded(CloneFailed, RecordFailure(jobs, clock)(caught))

    assert set(answer) == CLONE_FAILED_KEYS
    assert answer["status"] == "FAILED" and answer["failure"] == {"errorCode": code, "errorMessage": message}
    assert (answer["cloneId"], answer["ticket"], answer["request"]) == (CLONE_ID, "t-1", REQUEST.to_state())
    job = jobs.get(CLONE_ID)
    assert job.status == "FAILED" and job.failure == {"errorCode": code, "errorMessage": message}
    assert job["finishedAt"] == iso_utc(clock.now) and job["instantSite"]["status"] == "PENDING"


def test_a_clone_that_failed_before_its_job_was_written_gets_a_failed_job_all_the_same(jobs, clock):
    # AcquireSlot's Catch: the execution's input and the error, no job yet.
    caught = {"cloneId": CLONE_ID, "request": REQUEST.to_state(), "error": PAYLOADS["states-timeout"][0]}
    answer = _recorded(CloneFailed, RecordFailure(jobs, clock)(caught))
    job = jobs.get(CLONE_ID)
    assert job is not None and job.status == "FAILED" and job.error_code == "States.Timeout"
    assert job.request() == REQUEST and answer["status"] == "FAILED"


def test_a_job_that_ended_meanwhile_keeps_its_end(jobs, clock):
    caught = {**_running(jobs, clock), "error": PAYLOADS["lambda-error"][0]}
    jobs.advance(CLONE_ID, "CANCELLED", errorCode="CANCELLED", errorMessage="by an operator")
    RecordFailure(jobs, clock)(caught)
    job = jobs.get(CLONE_ID)
    assert job.status == "CANCELLED" and job.error_code == "CANCELLED" and "finishedAt" not in job


def test_an_execution_started_with_a_request_it_cannot_read_is_recorded_failed_all_the_same(jobs, clock):
    _running(jobs, clock)
    caught = {"cloneId": CLONE_ID, "request": {"targetStoreId": "nine"}, "error": PAYLOADS["cause-not-json"][0]}
    answer = _recorded(CloneFailed, RecordFailure(jobs, clock)(caught))
    failure = {"errorCode": "Lambda.Unknown", "errorMessage": "The Lambda function crashed before returning"}
    assert answer == {"cloneId": CLONE_ID, "status": "FAILED", "failure": failure}
    assert jobs.get(CLONE_ID).status == "FAILED"


# ---- a failed step after a COMPLETED clone: the clone stands ---------------------------------


@pytest.mark.parametrize(
    ("failed_step", "kind", "outcome_key", "outcome_extra"),
    [("PROFILE", ProfileFailed, "profile", {}), ("INSTANT_SITE", InstantSiteFailed, "instantSite", {"draft": True})],
    ids=["profile", "instant-site"],
)
def test_a_failed_step_after_the_clone_is_that_steps_outcome_and_the_job_stays_completed(
    jobs, clock, failed_step, kind, outcome_key, outcome_extra
):
    error, (code, message) = PAYLOADS["states-timeout"]
    caught = {**_completed(jobs), "error": error, "failedStep": failed_step}

    answer = _recorded(kind, RecordFailure(jobs, clock)(caught))

    outcome = {"status": "FAILED", **outcome_extra, "error": {"errorCode": code, "errorMessage": message}}
    assert set(answer) == STEP_FAILED_KEYS | {outcome_key}
    assert answer[outcome_key] == outcome and answer["status"] == "COMPLETED"
    assert answer["result"] == {"products": 2, "categories": 1}
    job = jobs.get(CLONE_ID)
    assert job[outcome_key] == outcome and job.status == "COMPLETED" and job.error_code is None


# ---- an outcome event that did not go out -------------------------------------------------


def test_an_event_not_published_is_kept_on_the_job_and_the_outcome_stands(jobs, clock):
    _completed(jobs)
    # A PutEvents task's Catch: Step Functions' own error, its Cause a sentence, not JSON.
    cause = "Service returned error code InternalException (Service: EventBridge, Status Code: 500)"
    caught = {
        "cloneId": CLONE_ID,
        "failedStep": "EVENTS",
        "detailType": "Clone Completed",
        "error": {"Error": "EventBridge.InternalException", "Cause": cause},
    }

    answer = _recorded(EventNotPublished, RecordFailure(jobs, clock)(caught))

    assert answer == {
        "cloneId": CLONE_ID,
        "eventNotPublished": {"detailType": "Clone Completed", "errorCode": "EventBridge.InternalException"},
    }
    job = jobs.get(CLONE_ID)
    assert job.status == "COMPLETED" and job.error_code is None
    [failure] = job["eventFailures"]
    assert failure["detailType"] == "Clone Completed" and failure["error"] == f"EventBridge.InternalException: {cause}"


# ---- the handler: it dispatches on the kind, logs and counts each, hands the JSON on ------------


def _event_caught(jobs, clock) -> dict[str, Any]:
    _completed(jobs)
    error = {"Error": "EventBridge.InternalException", "Cause": "InternalException"}
    return {"cloneId": CLONE_ID, "failedStep": "EVENTS", "detailType": "Clone Completed", "error": error}


CAUGHT = {  # each kind: what the state machine hands RecordFailure, the warning, the metric and its dimension
    "clone": (
        lambda jobs, clock: {**_running(jobs, clock), "error": PAYLOADS["states-timeout"][0]},
        ("Clone failed", "failure"),
        ("ClonesFailed", {"ErrorCode": "States.Timeout"}),
    ),
    "profile": (
        lambda jobs, clock: {**_completed(jobs), "error": PAYLOADS["states-timeout"][0], "failedStep": "PROFILE"},
        ("Store profile update failed", "profile"),
        ("ProfileUpdates", {"Outcome": "FAILED"}),
    ),
    "instant-site": (
        lambda jobs, clock: {**_completed(jobs), "error": PAYLOADS["states-timeout"][0], "failedStep": "INSTANT_SITE"},
        ("Instant Site clone failed", "instantSite"),
        ("InstantSiteClones", {"Outcome": "FAILED"}),
    ),
    "event": (_event_caught, ("Event not published", "detailType"), ("EventsNotPublished", {})),
}


@pytest.mark.parametrize("kind", CAUGHT)
def test_the_handler_logs_and_counts_each_kind_and_hands_on_its_json(kind, jobs, clock, monkeypatch, emitted):
    from ecwid_cloner import runtime
    from local.lambda_endpoint import LambdaContext, load_module
    from local.template_model import TemplateModel

    make_caught, (message, logged_key), (metric, dimensions) = CAUGHT[kind]
    caught = make_caught(jobs, clock)
    handler = load_module(TemplateModel().functions()["RecordFailureFunction"])
    monkeypatch.setattr(handler, "record_failure", lambda: RecordFailure(jobs, clock))
    logged: list[tuple[str, Any]] = []
    monkeypatch.setattr(runtime.logger, "warning", lambda text, **kw: logged.append((text, kw.get("extra"))))

    answer = handler.lambda_handler(caught, LambdaContext("RecordFailureFunction"))

    assert answer == RecordFailure(jobs, clock)(caught).to_state(), "the JSON of the result (recorded again: the same)"
    [(text, extra)] = logged
    assert text == message and logged_key in extra
    lines = [line for line in emitted() if metric in line]
    assert len(lines) == 1 and all(lines[0][name] == value for name, value in dimensions.items())


# ---- DescribeOutcome (clone_events): the event of a clone whose failure has no job --------------


@pytest.mark.parametrize("carried", [True, False], ids=["failure-carried", "nothing-carried"])
def test_a_clone_failed_without_a_job_is_described_failed_with_the_failure_it_carried(carried, jobs, monkeypatch):
    from local.lambda_endpoint import LambdaContext, load_module
    from local.template_model import TemplateModel

    handler = load_module(TemplateModel().functions()["CloneEventsFunction"])
    monkeypatch.setattr(handler, "jobs_repository", lambda: jobs)
    failure = {"errorCode": "States.Timeout", "errorMessage": "AcquireSlot timed out"}
    event = {"cloneId": CLONE_ID, "detailType": "Clone Failed", **({"failure": failure} if carried else {})}

    described = handler.lambda_handler(event, LambdaContext("CloneEventsFunction"))

    detail = {"cloneId": CLONE_ID, "status": "FAILED", **(failure if carried else {})}
    assert described == {"detailType": "Clone Failed", "detail": detail}
    jobs.record_intent(CLONE_ID, REQUEST)  # with a job, the job says it
    described = handler.lambda_handler(event, LambdaContext("CloneEventsFunction"))
    assert described["detail"]["status"] == "STARTING" and described["detail"]["sourceStoreId"] == 1003
