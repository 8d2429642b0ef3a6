"""The typed state between the steps reads and writes the state machine's JSON exactly."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ecwid_cloner.state import (
    BudgetTurn,
    CloneState,
    Failure,
    InstantSiteOutcome,
    OutcomeEvent,
    Poll,
    ProvisionedStore,
    SlotTicket,
    StepOutcome,
)
from ecwid_cloner.steps.store_actions import StoreAction
from local.template_model import ROOT

REQUEST = {"sourceStoreId": 1003, "targetStoreId": 2001, "scope": "CATALOG", "cloneDemoCatalog": False}
POLL = {
    "attempt": 3,
    "startedAt": 1795000000.25,
    "deadlineAt": 1795003600.25,
    "transientErrors": 1,
    "expectedSeconds": None,
    "waitSeconds": 45,
}

STATES = {
    "started": {"cloneId": "c", "request": REQUEST, "ticket": "t-1", "status": "QUEUED", "poll": POLL},
    "a failed poll": {
        "cloneId": "c",
        "request": REQUEST,
        "ticket": "t-1",
        "status": "IN_PROGRESS",
        "poll": {**POLL, "lastError": "HTTP_503"},
    },
    "a poll waiting its turn": {
        "cloneId": "c",
        "request": REQUEST,
        "ticket": "t-1",
        "status": "IN_PROGRESS",
        "poll": POLL,
        "budget": {"bookedAt": 1795000012.5, "tokens": 1, "refusals": 0, "backlog": 2.25, "waitSeconds": 45},
    },
    "polling under a backlog": {
        "cloneId": "c",
        "request": REQUEST,
        "ticket": "t-1",
        "status": "IN_PROGRESS",
        "poll": {
            **POLL,
            "durations": [95, 120, 240],
            "pollAt": 1795000520.25,
            "runningSeen": 431.5,
            "backlogPolls": 2,
            "backlogWait": True,
        },
    },
    "completed": {
        "cloneId": "c",
        "request": REQUEST,
        "ticket": "t-1",
        "status": "COMPLETED",
        "poll": POLL,
        "result": {"products": 500, "categories": 40},
    },
    "failed": {
        "cloneId": "c",
        "request": REQUEST,
        "ticket": "t-1",
        "status": "FAILED",
        "poll": POLL,
        "failure": {"errorCode": "CLONE_FAILED", "errorMessage": "no"},
    },
    "waiting for the budget": {
        "cloneId": "c",
        "request": REQUEST,
        "budget": {"bookedAt": None, "tokens": 0, "refusals": 2, "backlog": 0.0, "waitSeconds": 3},
    },
    "store made": {
        "cloneId": "c",
        "request": {**REQUEST, "newStore": True, "personalize": True},
        "store": {"storeId": 2001, "tokenSaved": True},
        "event": {"detailType": "Store Created", "detail": {"cloneId": "c"}},
    },
    "instant site done": {
        "cloneId": "c",
        "request": {**REQUEST, "instantSite": {"draft": True}},
        "ticket": "t-1",
        "status": "COMPLETED",
        "result": {"products": 1, "categories": 1},
        "instantSite": {"status": "COMPLETED", "draft": True},
    },
    "profile set": {
        "cloneId": "c",
        "request": {**REQUEST, "personalize": True},
        "ticket": "t-1",
        "status": "COMPLETED",
        "result": {"products": 1, "categories": 1},
        "profile": {"status": "COMPLETED", "fields": ["settings.storeName"]},
    },
    "instant site and its profile done": {
        "cloneId": "c",
        "request": {**REQUEST, "instantSite": {"draft": False}, "personalize": True},
        "ticket": "t-1",
        "status": "COMPLETED",
        "result": {"products": 1, "categories": 1},
        "instantSite": {
            "status": "COMPLETED",
            "draft": False,
            "profile": {"status": "FAILED", "error": {"errorCode": "INSTANT_SITE_HTTP_403", "errorMessage": "no"}},
        },
        "profile": {"status": "COMPLETED", "fields": []},
    },
    "steps after the clone failed": {
        "cloneId": "c",
        "request": {**REQUEST, "instantSite": {"draft": True}, "personalize": True},
        "ticket": "t-1",
        "status": "COMPLETED",
        "result": {"products": 1, "categories": 1},
        "instantSite": {
            "status": "FAILED",
            "draft": True,
            "error": {"errorCode": "States.Timeout", "errorMessage": "States.Timeout"},
        },
        "profile": {"status": "FAILED", "error": {"errorCode": "STORE_PROFILE_HTTP_400", "errorMessage": "bad"}},
    },
}


@pytest.mark.parametrize("name", STATES)
def test_every_state_a_step_hands_on_reads_back_as_it_was(name):
    assert CloneState.from_state(STATES[name]).to_state() == STATES[name]


def test_keys_of_other_states_are_not_carried_on():
    state = CloneState.from_state({**STATES["started"], "slot": {"held": True}, "error": {"Error": "X"}})
    assert "slot" not in state.to_state() and "error" not in state.to_state()


def test_carried_keeps_the_clone_its_request_and_ticket_only():
    carried = CloneState.from_state(STATES["failed"]).carried().to_state()
    assert carried == {"cloneId": "c", "request": REQUEST, "ticket": "t-1"}


def test_a_poll_needs_where_it_started_and_its_deadline():
    with pytest.raises(KeyError):
        Poll.from_state({"attempt": 0, "waitSeconds": 5})


def test_a_state_from_before_the_merchant_left_it_hands_on_no_personal_data():
    # An execution started when the state still carried the merchant: read, never handed on.
    legacy = {**STATES["store made"], "request": {**REQUEST, "merchant": {"email": "a@b.co", "name": "Ann"}}}
    state = CloneState.from_state(legacy)
    assert state.request.new_store and state.request.merchant is not None
    assert "merchant" not in state.to_state()["request"] and state.to_state()["request"]["newStore"] is True


def test_a_poll_under_a_backlog_reads_its_durations_sorted_and_needs_two():
    poll = Poll.from_state({**POLL, "durations": [300, 100.5, 200]})
    assert poll.durations is not None and poll.durations.seconds == (100.5, 200.0, 300.0)
    assert Poll.from_state({**POLL, "durations": [300]}).durations is None
    assert Poll.from_state(POLL).poll_at is None and not Poll.from_state(POLL).backlog_wait


def test_a_waiting_poll_from_before_every_booking_was_kept_in_budget_hands_on_its_booking_there():
    # An execution that was waiting when the stack was updated: its poll kept its booking in the poll.
    booking = {"bookedAt": 1795000012.5, "tokens": 1, "refusals": 0, "backlog": 2.25}
    state = CloneState.from_state({**STATES["started"], "poll": {**POLL, "budget": booking}})
    assert state.budget == BudgetTurn(booked_at=1795000012.5, tokens=1, backlog=2.25)
    assert "budget" not in state.to_state()["poll"] and state.to_state()["budget"]["bookedAt"] == 1795000012.5


# ---- the parts of the state, typed: each reads back as it was, and writes what the ASL reads ----

FAILURE = Failure("CLONE_FAILED", "Source went away")
PARTS = {
    "failure": FAILURE,
    "profile set": StepOutcome("COMPLETED", fields=("settings.storeName", "company.email")),
    "profile failed": StepOutcome("FAILED", error=FAILURE),
    "instant site": InstantSiteOutcome("COMPLETED", draft=True, profile=StepOutcome("COMPLETED", fields=("email",))),
    "instant site failed": InstantSiteOutcome("FAILED", draft=False, error=FAILURE),
    "store": ProvisionedStore(7001, token_saved=True),
    "event": OutcomeEvent("Store Created", {"cloneId": "c", "targetStoreId": 7001}),
    "budget": BudgetTurn(booked_at=1795000012.5, tokens=2, refusals=1, backlog=2.25, wait_seconds=3),
    "store action": StoreAction("suspend", "DONE", "2026-11-29T08:00:00Z", "FailedStoreAction", store_id=7001),
    "store action failed": StoreAction("delete", "FAILED", "2026-11-29T08:00:00Z", "ops@example.com", 7001, "HTTP_403"),
    "slot held": SlotTicket(held=True, number=3, waited_seconds=30.0),
    "slot waiting": SlotTicket(
        held=False, number=3, waited_seconds=25.0, place=1, waiting_since=1795000000.5, first_place=2, wait_seconds=20
    ),
}


@pytest.mark.parametrize("name", PARTS)
def test_every_part_of_the_state_reads_back_as_it_was_written(name):
    part = PARTS[name]
    assert type(part).from_state(json.loads(json.dumps(part.to_state()))) == part


def test_a_state_of_every_part_reads_back_as_it_was_written():
    state = CloneState(
        "c",
        CloneState.from_state(STATES["store made"]).request,
        ticket="t-1",
        status="COMPLETED",
        result={"products": 1, "categories": 1},
        failure=PARTS["failure"],
        instant_site=PARTS["instant site"],
        profile=PARTS["profile set"],
        budget=PARTS["budget"],
        store=PARTS["store"],
        event=PARTS["event"],
    )
    assert CloneState.from_state(json.loads(json.dumps(state.to_state()))) == state


def _at(state: dict[str, Any], path: str) -> Any:
    value: Any = state
    for key in path.removeprefix("$.").split("."):
        value = value[key]
    return value


def test_the_parts_write_the_keys_and_types_the_state_machine_reads():
    failed = CloneState("c", CloneState.from_state(STATES["failed"]).request, status="FAILED", failure=FAILURE)
    made = CloneState("c", failed.request, store=PARTS["store"], event=PARTS["event"])
    # The Fail state's ErrorPath and CausePath: strings, or the Fail state itself fails.
    assert _at(failed.to_state(), "$.failure.errorCode") == "CLONE_FAILED"
    assert _at(failed.to_state(), "$.failure.errorMessage") == "Source went away"
    # PublishStoreCreated's PutEvents entry.
    assert _at(made.to_state(), "$.event.detailType") == "Store Created"
    assert _at(made.to_state(), "$.event.detail") == {"cloneId": "c", "targetStoreId": 7001}
    assert _at(made.to_state(), "$.store") == {"storeId": 7001, "tokenSaved": True}
    # SettleFailedStore's result ($.storeAction), as the job and the Clone Failed event keep it.
    assert PARTS["store action failed"].to_state() == {
        "action": "delete",
        "status": "FAILED",
        "at": "2026-11-29T08:00:00Z",
        "by": "ops@example.com",
        "storeId": 7001,
        "reason": "HTTP_403",
    }
    # SlotAcquired and WaitForSlot: held (a boolean), else the Wait state's whole seconds.
    assert PARTS["slot held"].to_state() == {"held": True, "number": 3, "waitedSeconds": 30.0}
    assert PARTS["slot waiting"].to_state() == {
        "held": False,
        "number": 3,
        "place": 1,
        "waitingSince": 1795000000.5,
        "firstPlace": 2,
        "waitedSeconds": 25.0,
        "waitSeconds": 20,
    }


def test_every_path_the_state_machine_reads_in_a_part_of_the_state_is_one_a_test_here_writes():
    """A path the ASL starts reading (or a key renamed there) must be written by the typed parts."""
    asl = (ROOT / "statemachine" / "clone_store.asl.json").read_text()
    parts = ("failure", "instantSite", "profile", "store", "event", "budget", "poll", "slot")
    read = {path for path in re.findall(r'"(\$\.[A-Za-z.]+)"', asl) if path.split(".")[1] in parts}
    written = {
        "$.failure.errorCode",
        "$.failure.errorMessage",
        "$.instantSite",
        "$.profile",
        "$.event",  # DescribeCompleted and DescribeFailed put OutcomeEvent's shape there (clone_events)
        "$.event.detailType",
        "$.event.detail",
        "$.event.detail.status",  # the detail's own contract (data.outcome_events), carried as it is
        "$.budget.waitSeconds",
        "$.poll.waitSeconds",
        "$.slot",  # AcquireSlot's ResultPath: a SlotTicket
        "$.slot.held",
        "$.slot.waitSeconds",
    }
    assert read <= written, f"the ASL reads {sorted(read - written)}: give them a typed part and a test"
    samples = [STATES["failed"], STATES["instant site and its profile done"], STATES["waiting for the budget"]]
    samples += [STATES["store made"], STATES["started"]]
    written_here = [CloneState.from_state(sample).to_state() for sample in samples]
    written_here += [{"slot": PARTS[name].to_state()} for name in ("slot held", "slot waiting")]
    for path in written - {"$.event.detail.status"}:
        assert any(_has(state, path) for state in written_here), path


def _has(state: dict[str, Any], path: str) -> bool:
    try:
        _at(state, path)
    except KeyError:
        return False
    return True
