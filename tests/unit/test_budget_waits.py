"""StartClone, CreateStore and CheckCloneStatus when Ecwid's request budget says wait, in
milliseconds: the budget in memory on the test's clock, in-memory jobs, fake Ecwid clients behind
the gate as the real ones are. A step told to wait returns the wait and calls Ecwid not at all;
the state machine's Wait state hands its state back, and the next run spends the booking it holds
(no second one) and goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ecwid_cloner.ecwid.store_creation import CreatedStore
from ecwid_cloner.models import CloneRequest, CloneStatus, Merchant
from ecwid_cloner.state import CloneState
from ecwid_cloner.steps.check_clone_status import CheckCloneStatus
from ecwid_cloner.steps.create_store import StoreProvisioning
from ecwid_cloner.steps.poll_timing import PollTiming
from ecwid_cloner.steps.start_clone import StartClone
from tests.fake_ecwid import FakeCloneClient, FakeStoreCreator
from tests.memory_stores import MemoryMappings
from tests.unit.asl_choice import next_state
from tests.unit.step_fakes import Gated, InMemoryBudget

CLONE_ID = "9001-abc"
DEADLINE = 1800.0
BOOKED = 10  # a backlog new work may join: its turn is booked 10 s ahead
REFUSED = 60  # past the 30 s new work may book ahead: nothing is booked, come back later


@pytest.fixture
def budget(clock):
    return InMemoryBudget(clock)


def _timing(clock):
    return PollTiming(deadline_seconds=DEADLINE, clock=clock)


def _again(state: CloneState) -> CloneState:
    """The state the next run gets: through the state machine's JSON, as its Wait state hands it back."""
    return CloneState.from_state(state.to_state())


# ---- new work: StartClone and CreateStore -------------------------------------------------


class NewWork:
    """A step that starts something (POSTs a clone, creates a store), with its scripted client."""

    def __init__(self, name: str, request: CloneRequest, counter: str, choice: str, wait_state: str) -> None:
        self.name = name
        self.request = request
        self.counter = counter  # on the job: its POSTs, counted only when one goes
        self.choice, self.wait_state = choice, wait_state  # the state machine's Choice after the step

    def build(self, jobs, clock, gate) -> tuple[Callable[[CloneState], CloneState], list[Any]]:
        """(the step, the list of what it sent Ecwid)."""
        if self.name == "StartClone":
            client = FakeCloneClient(starts=["t-1"])
            return StartClone(lambda: Gated(client, gate), jobs, _timing(clock), gate), client.posted
        creator = FakeStoreCreator([CreatedStore(7001, "secret-token")])
        provisioning = StoreProvisioning(lambda: Gated(creator, gate), jobs, save_token=lambda *_: None, gate=gate)
        return provisioning.create_store, creator.posted

    def went(self, state: CloneState) -> bool:
        """Whether the step did its work: a ticket, or a store."""
        return state.ticket == "t-1" if self.name == "StartClone" else state.request.target_store_id == 7001

    def __repr__(self) -> str:
        return self.name


NEW_WORK = [
    NewWork(
        "StartClone",
        CloneRequest(1003, 9001, scope="CATALOG"),
        "postAttempts",
        "StartedOrWaiting",
        "WaitForBudgetToStart",
    ),
    NewWork(
        "CreateStore",
        CloneRequest(1003, None, merchant=Merchant("owner@example.com", "Owner")),
        "storeCreateAttempts",
        "StoreCreatedOrWaiting",
        "WaitForBudgetToCreateStore",
    ),
]


@pytest.fixture(params=NEW_WORK, ids=repr)
def work(request, jobs):
    work = request.param
    jobs.record_intent(CLONE_ID, work.request)  # as the entry point writes it
    return work


@pytest.mark.parametrize("backlog", [BOOKED, REFUSED], ids=["booked", "refused"])
def test_new_work_told_to_wait_returns_the_wait_and_neither_calls_ecwid_nor_counts_a_post(
    work, jobs, clock, budget, backlog
):
    budget.run_ahead(backlog)
    schedule = budget.booked_until
    step, sent = work.build(jobs, clock, budget.gate)

    state = step(CloneState(CLONE_ID, work.request))

    assert sent == [] and not work.went(state)
    job = jobs.items[CLONE_ID]
    assert work.counter not in job and job["status"] == "STARTING"
    assert next_state(work.choice, state.to_state()) == work.wait_state
    if backlog == BOOKED:  # its turn is held for it: one request, 10 s from now
        assert state.budget.to_state() == {
            "bookedAt": clock.now + BOOKED,
            "tokens": 1,
            "refusals": 0,
            "backlog": BOOKED,
            "waitSeconds": BOOKED,
        }
        assert budget.booked_until == schedule + 1
    else:  # nothing held: back once the schedule is within reach, spread by a jittered backoff
        assert state.budget.booked_at is None and state.budget.tokens == 0 and state.budget.refusals == 1
        assert REFUSED - 30 <= state.budget.wait_seconds <= REFUSED - 30 + 4
        assert budget.booked_until == schedule


def test_the_next_run_spends_the_booking_it_holds_and_goes(work, jobs, clock, budget):
    budget.run_ahead(BOOKED)
    step, sent = work.build(jobs, clock, budget.gate)
    waiting = step(CloneState(CLONE_ID, work.request))
    schedule = budget.booked_until

    clock.advance(waiting.budget.wait_seconds)
    state = step(_again(waiting))

    assert len(sent) == 1 and work.went(state) and state.budget is None
    assert budget.booked_until == schedule, "the held turn was spent: nothing booked again"
    assert int(jobs.items[CLONE_ID][work.counter]) == 1
    assert next_state(work.choice, state.to_state()) != work.wait_state


def test_a_run_before_its_booking_waits_the_rest_and_books_nothing_more(work, jobs, clock, budget):
    budget.run_ahead(BOOKED)
    step, sent = work.build(jobs, clock, budget.gate)
    waiting = step(CloneState(CLONE_ID, work.request))
    schedule = budget.booked_until

    clock.advance(4)
    early = step(_again(waiting))

    assert sent == [] and early.budget.wait_seconds == BOOKED - 4
    assert early.budget.booked_at == waiting.budget.booked_at and early.budget.tokens == 1
    assert budget.booked_until == schedule


def test_refused_new_work_carries_its_refusals_to_the_next_run_and_backs_off_further(work, jobs, clock, budget):
    budget.run_ahead(REFUSED)
    step, sent = work.build(jobs, clock, budget.gate)
    first = step(CloneState(CLONE_ID, work.request))
    clock.advance(first.budget.wait_seconds)
    budget.run_ahead(REFUSED)  # running clones booked on meanwhile: out of reach again
    ahead = budget.booked_until - clock.now

    second = step(_again(first))

    assert sent == [] and (first.budget.refusals, second.budget.refusals) == (1, 2)
    assert ahead - 30 <= second.budget.wait_seconds <= ahead - 30 + 8, "a backoff of up to 2 * 2**2 s"


# ---- a running clone: CheckCloneStatus --------------------------------------------------


def _started(jobs, clock) -> CloneState:
    """A clone StartClone started on ticket t-1 while the budget was clear."""
    start = StartClone(lambda: FakeCloneClient(starts=["t-1"]), jobs, _timing(clock))
    return start(CloneState(CLONE_ID, CloneRequest(1003, 9001, scope="CATALOG")))


def _check(jobs, clock, budget, client) -> CheckCloneStatus:
    return CheckCloneStatus(lambda: Gated(client, budget.gate), jobs, MemoryMappings(), _timing(clock), budget.gate)


def test_a_poll_told_to_wait_keeps_its_booking_and_asks_ecwid_nothing(jobs, clock, budget):
    started = _started(jobs, clock)
    budget.run_ahead(BOOKED)
    client = FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS")])

    state = _check(jobs, clock, budget, client)(started)

    assert client.polled == [] and state.status == "QUEUED" and jobs.get(CLONE_ID).status == "QUEUED"
    assert state.poll.attempt == started.poll.attempt == 0 and int(jobs.get(CLONE_ID)["polls"]) == 0
    assert state.poll.wait_seconds == BOOKED
    assert state.budget is not None and state.budget.booked_at == clock.now + BOOKED
    assert state.budget.tokens == 1 and state.budget.wait_seconds == state.poll.wait_seconds
    assert next_state("RouteByStatus", state.to_state()) == "WaitForClone"


def test_the_next_poll_spends_its_booking_and_polls_once(jobs, clock, budget):
    started = _started(jobs, clock)
    budget.run_ahead(BOOKED)
    client = FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS")])
    step = _check(jobs, clock, budget, client)
    waiting = step(started)
    schedule = budget.booked_until

    clock.advance(waiting.poll.wait_seconds)
    state = step(_again(waiting))

    assert client.polled == ["t-1"] and state.status == "IN_PROGRESS" and state.poll.attempt == 1
    assert state.budget is None and budget.booked_until == schedule


def test_a_poll_waiting_for_the_budget_never_waits_past_the_deadline(jobs, clock, budget):
    started = _started(jobs, clock)
    clock.advance(DEADLINE - 5)
    budget.run_ahead(BOOKED)
    client = FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS")])
    state = _check(jobs, clock, budget, client)(started)
    assert client.polled == [] and state.poll.wait_seconds == 5 and state.status == "QUEUED"


def test_a_clone_whose_deadline_passed_while_its_poll_waited_is_timed_out_unpolled(jobs, clock, budget):
    started = _started(jobs, clock)
    clock.advance(DEADLINE + 1)
    budget.run_ahead(BOOKED)
    client = FakeCloneClient(statuses=[CloneStatus("COMPLETED")])
    state = _check(jobs, clock, budget, client)(started)
    assert client.polled == [] and state.status == "TIMED_OUT" and state.failure.error_code == "CLONE_TIMED_OUT"
    assert jobs.get(CLONE_ID).status == "TIMED_OUT"
