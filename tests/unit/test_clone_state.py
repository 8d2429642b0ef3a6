"""The typed state between the steps reads and writes the state machine's JSON exactly."""

from __future__ import annotations

import pytest

from ecwid_cloner.state import BudgetTurn, CloneState, Poll

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
