"""Admission control: the slots of clones in flight, on DynamoDB and in memory."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from ecwid_cloner.admission.control import AdmissionControl, AdmissionPolicy, Line
from ecwid_cloner.admission.slot_store import CONFLICT_ATTEMPTS, DynamoSlotStore
from tests.memory_stores import MemorySlotStore


def _stores(coordination_table):
    return {"dynamodb": DynamoSlotStore(coordination_table), "memory": MemorySlotStore()}


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_slots_cap_clones_in_flight_and_come_back_on_release(coordination_table, kind):
    control = AdmissionControl(_stores(coordination_table)[kind], AdmissionPolicy(max_in_flight=2, release_interval=10))
    assert control.acquire("a").admitted
    assert control.acquire("b").admitted
    refused = control.acquire("c")
    assert not refused.admitted and refused.number == 3 and refused.place == 1
    assert control.release("a")
    again = control.acquire("c", refused.number)
    assert again.admitted and again.number == 3
    assert control.store.line().in_flight == 2


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_acquire_and_release_are_idempotent(coordination_table, kind):
    control = AdmissionControl(_stores(coordination_table)[kind], AdmissionPolicy(max_in_flight=1, release_interval=10))
    first = control.acquire("a")
    assert control.acquire("a", first.number).admitted, "a retried acquire finds its own slot"
    assert control.store.line().in_flight == 1
    assert control.release("a")
    assert not control.release("a"), "a second release frees nothing"
    assert control.store.line().in_flight == 0
    assert control.acquire("b").admitted


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_a_waiter_learns_its_place_and_waits_longer_the_further_back_it_is(coordination_table, kind):
    policy = AdmissionPolicy(max_in_flight=1, release_interval=10, min_wait=5, max_wait=300)
    control = AdmissionControl(_stores(coordination_table)[kind], policy)
    control.acquire("running")
    waiters = [control.acquire(f"w{i}") for i in range(40)]
    assert [w.place for w in waiters[:3]] == [1, 2, 3]
    assert waiters[0].wait == 10 and waiters[2].wait == 30
    assert waiters[-1].wait == 300, "capped: nobody sleeps through many turns"


def test_concurrent_acquires_never_exceed_the_cap(coordination_table, serialized_moto):
    control = AdmissionControl(
        DynamoSlotStore(coordination_table), AdmissionPolicy(max_in_flight=3, release_interval=1)
    )
    results = {}

    def acquire(holder):
        results[holder] = control.acquire(holder).admitted

    threads = [threading.Thread(target=acquire, args=(f"c{i}",)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results.values()) == 3
    assert control.store.line().in_flight == 3


def test_the_cap_is_sized_from_the_budget_and_the_cost_of_a_clone():
    policy = AdmissionPolicy.sized_for(
        budget_per_minute=540, requests_per_clone=6, mean_clone_seconds=300, headroom=1.0
    )
    # 9 requests a second carry 1.5 clones a second; each runs 300 s: 450 at once.
    assert policy.max_in_flight == 450
    assert policy.release_interval == pytest.approx(1 / 1.5)


def test_time_scale_shrinks_the_waits():
    policy = AdmissionPolicy(max_in_flight=1, release_interval=10, time_scale=0.1)
    assert policy.wait_for_place(2) == pytest.approx(2.0)


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_a_newcomer_does_not_take_the_slot_an_older_waiter_is_due(coordination_table, kind):
    control = AdmissionControl(_stores(coordination_table)[kind], AdmissionPolicy(max_in_flight=1, release_interval=10))
    control.acquire("running")
    older = control.acquire("older")
    control.release("running")
    newcomer = control.acquire("newcomer")
    assert not newcomer.admitted and newcomer.place == 2
    assert control.acquire("older", older.number).admitted


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_a_dead_waiter_gives_up_its_place_and_a_dead_holder_its_slot(coordination_table, kind):
    control = AdmissionControl(_stores(coordination_table)[kind], AdmissionPolicy(max_in_flight=1, release_interval=10))
    control.acquire("running")
    dead = control.acquire("stopped-while-waiting")
    alive = control.acquire("alive")
    assert alive.place == 2
    control.give_up("stopped-while-waiting", dead.number)
    control.give_up("running", 1)  # stopped mid-clone: the reaper frees its slot
    assert control.store.line().in_flight == 0
    assert control.acquire("alive", alive.number).admitted


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_a_retried_acquire_does_not_leave_a_second_number_in_line(coordination_table, kind):
    """AcquireSlot's result was lost and Step Functions ran it again, with no number in
    its input: it takes a second number, finds its slot, and that number must pass."""
    control = AdmissionControl(_stores(coordination_table)[kind], AdmissionPolicy(max_in_flight=2, release_interval=10))
    assert control.acquire("retried").admitted
    assert control.acquire("retried").admitted  # the retry
    assert control.acquire("other").admitted
    waiter = control.acquire("waiter")
    control.release("retried")
    # One free slot, and nobody really before the waiter: it is its turn.
    assert control.acquire("waiter", waiter.number).admitted


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_an_overdue_waiter_takes_a_free_slot_past_numbers_that_never_pass(coordination_table, kind):
    store = _stores(coordination_table)[kind]
    control = AdmissionControl(store, AdmissionPolicy(max_in_flight=1, release_interval=10))
    for _ in range(3):
        store.take_number()  # steps that died between taking a number and a slot
    waiter = control.acquire("waiter")
    assert not waiter.admitted and waiter.place == 4
    assert not control.acquire("waiter", waiter.number).admitted, "first come, first served while on time"
    assert control.overdue(first_place=4, waited_seconds=2 * 40 + 61)
    assert not control.overdue(first_place=4, waited_seconds=100)
    assert control.acquire("waiter", waiter.number, overdue=True).admitted


def _reaper(coordination_table, jobs_table, kind, max_in_flight):
    """The reaper's side as deployed: CloneSlots over a slot store and the jobs table."""
    from ecwid_cloner.admission.clone_slots import CloneSlots
    from ecwid_cloner.data.jobs import JobsRepository

    control = AdmissionControl(
        _stores(coordination_table)[kind], AdmissionPolicy(max_in_flight=max_in_flight, release_interval=10)
    )
    return control, CloneSlots(control, JobsRepository(jobs_table))


def _job(jobs_table, clone_id, status, admission):
    """The job as AcquireSlot left it (WAITING, with its number), then moved on to ``status``."""
    jobs_table.put_item(
        Item={"cloneId": clone_id, "status": status, "waitingPlace": admission.place, "slotNumber": admission.number}
    )


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_the_reaper_leaves_the_line_alone_when_a_clone_ended_normally(coordination_table, jobs_table, kind):
    """Issue 25: every failed clone ends in the Fail state, so the reaper runs for it. A clone
    admitted ahead of its number (two slots came free at once), that failed and released its
    slot on the way out, holds nothing: reaping it must not count a number past the line."""
    control, slots = _reaper(coordination_table, jobs_table, kind, max_in_flight=2)
    for holder in ("a", "b"):
        assert control.acquire(holder).admitted  # numbers 1, 2
    waiters = {holder: control.acquire(holder) for holder in ("c", "d", "e")}  # numbers 3, 4, 5
    for holder, refused in waiters.items():
        assert not refused.admitted
        _job(jobs_table, holder, "WAITING", refused)
    control.release("a")
    control.release("b")
    # d asks first: two free slots, two before it in line (c and itself): admitted ahead of c.
    assert control.acquire("d", waiters["d"].number).admitted
    assert control.store.line().passed == 3
    _job(jobs_table, "d", "FAILED", waiters["d"])  # StartClone failed: RecordFailure, ReleaseSlotFailed, Fail
    assert control.release("d")

    assert slots.reap("d") is False

    # c and e still wait; nothing else passed: three numbers past the line, not four.
    assert control.store.line().passed == 3
    newcomer = control.acquire("f")
    assert newcomer.place == 3, "c, e and the newcomer itself stand in line"


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_the_reaper_gives_up_a_dead_waiters_place_once(coordination_table, jobs_table, kind):
    """A waiter stopped in WaitForSlot still stands in line: the reaper takes its number out,
    once, however often the status change is delivered (EventBridge delivers at least once)."""
    control, slots = _reaper(coordination_table, jobs_table, kind, max_in_flight=1)
    assert control.acquire("running").admitted  # number 1
    ahead = control.acquire("ahead")  # 2
    dead = control.acquire("stopped-while-waiting")  # 3
    _job(jobs_table, "stopped-while-waiting", "WAITING", dead)
    behind = control.acquire("behind")  # 4
    assert behind.place == 3

    assert slots.reap("stopped-while-waiting") is False  # it held no slot
    assert slots.reap("stopped-while-waiting") is False  # the same status change, delivered again

    assert control.store.line().passed == 2, "the running clone admitted, the dead waiter's number given up"
    assert control.acquire("behind", behind.number).place == 2, "the clone ahead and itself"
    assert control.release("running")
    assert control.acquire("ahead", ahead.number).admitted


@pytest.mark.parametrize("kind", ["dynamodb", "memory"])
def test_the_reaper_frees_a_slot_its_execution_never_released(coordination_table, jobs_table, kind):
    control, slots = _reaper(coordination_table, jobs_table, kind, max_in_flight=1)
    admitted = control.acquire("stopped-mid-clone")
    _job(jobs_table, "stopped-mid-clone", "IN_PROGRESS", admitted)
    assert slots.reap("stopped-mid-clone") is True
    assert slots.reap("stopped-mid-clone") is False, "a slot is released once"
    assert control.store.line() == Line(passed=1, in_flight=0)


class _ConflictingClient:
    """DynamoDB's answer when another transaction writes the counter item at the same moment."""

    def __init__(self, conflicts: int):
        self.conflicts, self.calls = conflicts, 0

    def transact_write_items(self, **_):
        self.calls += 1
        if self.calls <= self.conflicts:
            error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
            reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
            raise ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")
        return {}


class _Table:
    def __init__(self, client):
        self.name = "coordination"
        self.meta = type("Meta", (), {"client": client})()


@pytest.mark.parametrize(("conflicts", "released"), [(2, True), (CONFLICT_ATTEMPTS, None)])
def test_a_transaction_that_meets_another_on_the_counter_is_tried_again(conflicts, released):
    client = _ConflictingClient(conflicts)
    store = DynamoSlotStore(_Table(client))
    if released is None:
        with pytest.raises(ClientError):
            store.release("clone-1")
        assert client.calls == CONFLICT_ATTEMPTS
    else:
        assert store.release("clone-1") is released and client.calls == conflicts + 1
