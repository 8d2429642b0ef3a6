"""The shared Ecwid request budget: the GCRA schedule, its DynamoDB item, and the gate."""

from __future__ import annotations

import random
import threading

import pytest

from ecwid_cloner.ecwid.budget import (
    Booking,
    BudgetPolicy,
    BudgetWait,
    Priority,
    RequestBudget,
    RequestGate,
    book,
    step_budget,
)
from ecwid_cloner.ecwid.budget_store import DynamoBudgetStore
from ecwid_cloner.state import BudgetTurn
from tests.memory_stores import MemoryBudgetStore


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


POLICY = BudgetPolicy(per_minute=60, burst=3)  # one request a second, three at once


def test_a_quiet_budget_lets_a_burst_through_then_books_one_request_per_interval():
    clock = Clock()
    budget = RequestBudget(MemoryBudgetStore(), POLICY, clock=clock)
    waits = [budget.take(Priority.RUNNING).wait for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 1, 2, 3])


def test_the_budget_refills_at_its_rate_and_no_faster():
    clock = Clock()
    budget = RequestBudget(MemoryBudgetStore(), POLICY, clock=clock)
    for _ in range(3):
        budget.take(Priority.RUNNING)
    clock.now += 1.0  # one interval: one token back
    assert budget.take(Priority.RUNNING).wait == pytest.approx(0)
    assert budget.take(Priority.RUNNING).wait == pytest.approx(1)
    clock.now += 3600  # a long quiet spell refills only the burst
    assert [budget.take(Priority.RUNNING).wait for _ in range(4)] == pytest.approx([0, 0, 0, 1])


def test_new_work_is_refused_without_a_booking_while_running_clones_fill_the_schedule():
    clock = Clock()
    store = MemoryBudgetStore()
    budget = RequestBudget(store, BudgetPolicy(per_minute=60, burst=3, new_work_horizon=2), clock=clock)
    for _ in range(5):  # polls booked up to two seconds ahead: the next free moment is +3 s
        budget.take(Priority.RUNNING)
    before = store.tat
    refused = budget.take(Priority.NEW)
    assert not refused.booked and refused.wait == pytest.approx(3)
    assert store.tat == before, "a refused start books nothing"
    # A poll still goes ahead of every start that was refused.
    poll = budget.take(Priority.RUNNING)
    assert poll.booked and poll.wait == pytest.approx(3)


def test_new_work_goes_when_the_schedule_is_clear_and_books_within_its_horizon():
    booking = book(None, 50.0, POLICY, Priority.NEW)[1]
    assert booking.booked and booking.wait == 0
    policy = BudgetPolicy(per_minute=60, burst=1, new_work_horizon=5)
    assert book(54.0, 50.0, policy, Priority.NEW)[1].booked
    assert not book(56.0, 50.0, policy, Priority.NEW)[1].booked


def test_a_waiting_step_keeps_its_booking_and_refused_new_work_backs_off_with_jitter():
    policy = BudgetPolicy(per_minute=60, burst=1, new_work_horizon=5, refused_backoff=2, max_refused_backoff=60)
    turn, wait = policy.next_turn(BudgetTurn(), BudgetWait(Booking(at=110.0, wait=10.0, booked=True)))
    assert turn == BudgetTurn(booked_at=110.0, tokens=0, refusals=0) and wait == 10.0
    assert BudgetTurn.from_state(turn.to_state()) == turn
    rng = random.Random(3)
    refused = BudgetWait(Booking(at=120.0, wait=20.0, booked=False))
    waits = []
    turn = BudgetTurn()
    for _ in range(8):
        turn, wait = policy.next_turn(turn, refused, rng)
        waits.append(wait)
    assert turn.refusals == 8 and turn.booked_at is None
    # Back when the schedule is within the horizon (20 - 5 s), plus a jitter that grows to at most 60 s.
    assert all(15 <= wait <= 15 + 60 for wait in waits)
    assert max(waits[5:]) > 15 + 4, "later refusals spread wider"


def test_peak_in_any_minute_stays_within_rate_plus_burst():
    """Many callers taking as fast as they can: requests made at their booked
    times never exceed the rate plus the burst in any 60 s window."""
    clock = Clock(0.0)
    policy = BudgetPolicy(per_minute=540, burst=10)
    budget = RequestBudget(MemoryBudgetStore(), policy, clock=clock)
    sent = []
    for step in range(3000):
        clock.now = step * 0.05  # 20 callers a second ask, the budget allows 9
        booking = budget.take(Priority.RUNNING)
        sent.append(booking.at)
    sent.sort()
    peak = max(_count_within(sent, start, 60.0) for start in sent)
    assert 540 <= peak <= 540 + 10


def test_time_scale_shrinks_the_interval_like_the_local_stack_shrinks_waits():
    scaled = BudgetPolicy(per_minute=600, burst=1, time_scale=0.1)
    assert scaled.interval == pytest.approx(0.01)


@pytest.mark.parametrize("kwargs", [{"per_minute": 0}, {"burst": 0}, {"new_work_horizon": -1}, {"time_scale": 0}])
def test_a_budget_policy_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        BudgetPolicy(**kwargs)


def test_dynamodb_store_books_each_token_once_under_concurrent_writers(coordination_table, serialized_moto):
    clock = Clock()
    budget = RequestBudget(DynamoBudgetStore(coordination_table), BudgetPolicy(per_minute=60, burst=1), clock=clock)
    bookings = []
    lock = threading.Lock()

    def take():
        booking = budget.take(Priority.RUNNING)
        with lock:
            bookings.append(booking.at)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # With a frozen clock every booking is one interval after the previous one: no token given twice.
    assert sorted(bookings) == pytest.approx([clock.now + i for i in range(12)])


STEPS = [  # (seconds later, priority, requests booked together)
    (0, Priority.RUNNING, 1),
    (0, Priority.RUNNING, 2),
    (0, Priority.NEW, 1),
    (0.5, Priority.RUNNING, 1),
    (0, Priority.NEW, 1),
    (0, Priority.RUNNING, 3),
    (0, Priority.NEW, 1),
    (0.2, Priority.NEW, 1),
    (30, Priority.NEW, 1),
    (0, Priority.RUNNING, 1),
    (100, Priority.RUNNING, 1),
    (0, Priority.NEW, 2),
]


def test_the_dynamodb_store_books_exactly_as_the_schedule_says(coordination_table):
    """One conditional UpdateItem per booking gives the bookings book() gives, case for case:
    an empty item, a quiet schedule, a backlog, new work refused past its horizon."""
    policy = BudgetPolicy(per_minute=60, burst=3, new_work_horizon=2)
    memory, dynamo = MemoryBudgetStore(), DynamoBudgetStore(coordination_table)
    now = 1_000_000.0
    seen = []
    for later, priority, count in STEPS:
        now += later
        expected, got = memory.book(now, policy, priority, count), dynamo.book(now, policy, priority, count)
        assert got.booked == expected.booked and got.at == pytest.approx(expected.at), (later, priority, count)
        assert got.wait == pytest.approx(expected.wait)
        assert got.lead == pytest.approx(expected.lead), "the backlog each booking saw"
        assert dynamo.lead(now) == pytest.approx(memory.lead(now)), "the backlog read without booking"
        seen.append(expected)
    # The sequence went through every case: at once, booked ahead, refused.
    assert any(b.wait == 0 for b in seen) and any(b.booked and b.wait > 0 for b in seen)
    assert any(not b.booked for b in seen)
    assert any(b.lead == 0 for b in seen) and any(b.lead > 0 for b in seen)


def test_a_booking_says_how_far_the_schedule_ran_ahead():
    policy = BudgetPolicy(per_minute=60, burst=1, new_work_horizon=5)
    assert book(None, 50.0, policy, Priority.RUNNING)[1].lead == 0  # an empty schedule
    assert book(40.0, 50.0, policy, Priority.RUNNING)[1].lead == 0  # a clear one
    assert book(57.5, 50.0, policy, Priority.RUNNING)[1].lead == pytest.approx(7.5)
    refused = book(57.5, 50.0, policy, Priority.NEW)[1]
    assert not refused.booked and refused.lead == pytest.approx(7.5), "refused new work sees the backlog too"


def test_a_step_reads_the_backlog_of_its_booking_on_the_run_that_spends_it():
    clock = Clock()
    store = MemoryBudgetStore()
    gate = RequestGate(RequestBudget(store, POLICY, clock=clock), clock=clock)
    assert gate.lead() == 0
    with step_budget() as budget:
        gate.admit(Priority.RUNNING)
    assert budget.backlog == 0, "a quiet schedule is no backlog"
    store.tat = clock.now + 20  # others booked 20 s ahead
    assert gate.lead() == pytest.approx(20)
    turn = BudgetTurn()
    with step_budget(turn) as budget, pytest.raises(BudgetWait) as waited:
        gate.admit(Priority.RUNNING)
    assert budget.backlog == pytest.approx(20)
    turn, wait = POLICY.next_turn(turn, waited.value)
    assert BudgetTurn.from_state(turn.to_state()) == turn  # it travels in the state
    clock.now += wait
    store.tat = None  # the schedule cleared meanwhile: the booking still speaks for this run
    with step_budget(turn) as budget:
        gate.admit(Priority.RUNNING)
    assert budget.backlog == pytest.approx(20)
    with step_budget(BudgetTurn(backlog=20.0)) as budget:  # no booking held: its own bookings decide
        gate.admit(Priority.RUNNING)
    assert budget.backlog == 0


class UpdatesOnly:
    """The coordination table as the budget may use it: UpdateItem only, each call counted."""

    def __init__(self, table):
        self._table = table
        self.updates = 0

    def update_item(self, **kwargs):
        self.updates += 1
        return self._table.update_item(**kwargs)


def test_the_booking_write_counts_every_request_booked_and_nothing_refused(coordination_table):
    # GET /campaign charts requests a minute from this total: it must count what was booked
    # (a step's requests together), never refused new work, and cost no write of its own.
    policy = BudgetPolicy(per_minute=60, burst=3, new_work_horizon=2)
    table = UpdatesOnly(coordination_table)
    store = DynamoBudgetStore(table)
    now, booked, refused = 1_000_000.0, 0, 0
    for later, priority, count in STEPS:
        now += later
        booking = store.book(now, policy, priority, count)
        booked += count if booking.booked else 0
        refused += 0 if booking.booked else 1
    item = coordination_table.get_item(Key={"name": "ecwid-request-budget"})["Item"]
    assert refused > 0 and int(item["booked"]) == booked == 13
    # One UpdateItem per booking, plus one for each time the schedule's case changed under it.
    assert table.updates <= len(STEPS) + 3  # here: 3 case changes


def test_the_gate_lets_a_request_go_now_or_raises_the_wait():
    clock = Clock()
    gate = RequestGate(RequestBudget(MemoryBudgetStore(), POLICY, clock=clock), clock=clock)
    for _ in range(3):
        gate.admit(Priority.RUNNING)
    # 4th and 5th: booked at +1 s and +2 s, within the early allowance (the burst's 2 s)
    gate.admit(Priority.RUNNING)
    gate.admit(Priority.RUNNING)
    with pytest.raises(BudgetWait) as waited:
        gate.admit(Priority.RUNNING)
    assert waited.value.booking.booked and waited.value.booking.wait == pytest.approx(3)


def test_a_booking_is_spent_on_the_next_run_once_and_only_when_due():
    clock = Clock()
    store = MemoryBudgetStore()
    gate = RequestGate(RequestBudget(store, POLICY, clock=clock), clock=clock)
    turn = BudgetTurn(booked_at=clock.now + 10, tokens=1)
    with step_budget(turn), pytest.raises(BudgetWait) as early:
        gate.admit(Priority.RUNNING)
    assert early.value.booking.at == turn.booked_at and early.value.tokens == 1
    assert store.tat is None, "an early step books nothing new"
    clock.now = turn.booked_at
    with step_budget(turn):
        gate.admit(Priority.RUNNING)  # due: goes without touching the budget
        assert store.tat is None
        gate.admit(Priority.RUNNING)  # a request more than booked takes a fresh token
        assert store.tat is not None


def test_a_step_of_two_requests_books_both_together():
    clock = Clock()
    store = MemoryBudgetStore()
    gate = RequestGate(RequestBudget(store, BudgetPolicy(per_minute=60, burst=1), clock=clock), clock=clock)
    with step_budget(requests=2):
        gate.admit(Priority.RUNNING)
        gate.admit(Priority.RUNNING)  # the second of the booking: no new take
    assert store.tat == pytest.approx(clock.now + 2)
    with step_budget(requests=2), pytest.raises(BudgetWait) as waited:
        gate.admit(Priority.RUNNING)
    assert waited.value.tokens == 2 and waited.value.booking.wait == pytest.approx(2)
    turn, wait = gate.budget.policy.next_turn(BudgetTurn(), waited.value)
    clock.now += wait
    with step_budget(turn, requests=2):
        gate.admit(Priority.RUNNING)
        gate.admit(Priority.RUNNING)
    assert store.tat == pytest.approx(clock.now - 2 + 4), "nothing booked beyond the two held"


def test_no_budget_means_no_gate():
    RequestGate(None).admit(Priority.NEW)
    assert RequestGate(None).lead() == 0


def _count_within(times: list[float], start: float, window: float) -> int:
    import bisect

    return bisect.bisect_left(times, start + window) - bisect.bisect_left(times, start)
