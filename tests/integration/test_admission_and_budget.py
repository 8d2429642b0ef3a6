"""Admission control and the shared Ecwid request budget, on the local stack: clones
wait in Step Functions (never in a Lambda), a dead execution's slot comes back, and
Ecwid is asked no faster than the budget allows."""

from __future__ import annotations

import itertools
import json
import time
import uuid

import boto3

from ecwid_cloner.admission.slot_store import DynamoSlotStore
from ecwid_cloner.models import clone_id_for
from local.entry_points import execution_status_change
from tests.integration.helpers import wait_until

TEMPLATE = 1003
FINAL = ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELLED")


def start(stack, target: int, source: int = TEMPLATE) -> str:
    clone_id = clone_id_for(target, str(uuid.uuid4()))
    request = {"sourceStoreId": source, "targetStoreId": target, "scope": "CATALOG", "cloneDemoCatalog": False}
    stack.record_intent(clone_id, request)
    stack.start_clone(clone_id, request)
    return clone_id


def slot_states(stack, clone_id: str) -> list[dict]:
    history = stack.history(stack.execution_arn(clone_id))
    return [
        json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])
        for e in history
        if e["type"] == "LambdaFunctionSucceeded" and "held" in e["lambdaFunctionSucceededEventDetails"]["output"]
    ]


def test_clones_past_the_cap_wait_their_turn_in_step_functions(stack, settings):
    settings(MAX_CLONES_IN_FLIGHT="1")
    targets = [2200, 2201, 2202]
    clone_ids = [start(stack, target) for target in targets]

    # The job of a clone in line shows it, with its place.
    waiting = wait_until(
        lambda: [j for j in map(stack.job, clone_ids) if j and j["status"] == "WAITING"], what="a WAITING job"
    )
    assert int(waiting[0]["waitingPlace"]) >= 1
    jobs = [stack.wait_for_clone(clone_id, timeout=180) for clone_id in clone_ids]

    assert [job["status"] for job in jobs] == ["COMPLETED"] * 3
    waits = [slot for clone_id in clone_ids for slot in slot_states(stack, clone_id) if not slot["held"]]
    assert waits and all(slot["waitSeconds"] >= 1 and slot["place"] >= 1 for slot in waits)
    # Never two clones of these in flight at once: each POST came after the previous clone's last poll.
    log = [
        r
        for r in stack.sandbox.request_log()
        if r["path"] == "/api/v3/stores/clone" and r["query"].get("targetStoreId") in {str(t) for t in targets}
    ]
    posts = sorted(r["time"] for r in log if r["method"] == "POST" and r["status"] == 200)
    assert len(posts) == 3
    tickets = {job["ticket"]: job for job in jobs}
    last_polls = sorted(
        max(r["time"] for r in stack.sandbox.request_log() if r["query"].get("ticket") == ticket) for ticket in tickets
    )
    assert posts[1] > last_polls[0] and posts[2] > last_polls[1]


def test_a_slot_held_by_a_stopped_execution_is_released_by_the_reaper(stack, settings):
    settings(MAX_CLONES_IN_FLIGHT="1")
    stack.sandbox.add_store(990300, products=20, categories=2, clone_seconds=60.0)  # a clone that outlasts the test
    stopped = start(stack, 2203, source=990300)
    wait_until(lambda: (stack.job(stopped) or {}).get("status") in ("QUEUED", "IN_PROGRESS"), what="the clone to run")
    next_in_line = start(stack, 2204)
    wait_until(lambda: (stack.job(next_in_line) or {}).get("status") == "WAITING", what="the second clone to wait")

    reaped = stack.stop_execution(stopped)

    assert reaped == {"cloneId": stopped, "released": True}
    assert stack.wait_for_clone(next_in_line, timeout=120)["status"] == "COMPLETED"
    # Reaping again frees nothing: a release happens once.
    assert stack.invoke("SlotReaperFunction", {"detail": {"name": stopped, "status": "ABORTED"}})["released"] is False


def slot_line(stack) -> tuple[int, int]:
    """The line's counters in the coordination table: numbers past the line, slots held."""
    item = boto3.resource("dynamodb").Table(stack.coordination_table).get_item(Key={"name": "clone-slots"})["Item"]
    return int(item.get("passed", 0)), int(item.get("inFlight", 0))


def test_the_reaper_takes_a_stopped_waiter_out_of_line_once_and_reaps_nothing_of_a_failed_clone(stack, settings):
    settings(MAX_CLONES_IN_FLIGHT="1")
    stack.sandbox.add_store(990301, products=20, categories=2, clone_seconds=60.0)  # holds the slot
    running = start(stack, 2296, source=990301)
    wait_until(lambda: (stack.job(running) or {}).get("status") in ("QUEUED", "IN_PROGRESS"), what="the clone to run")
    # A number that never passes: an AcquireSlot that died after taking it.
    slot_store = DynamoSlotStore(boto3.resource("dynamodb").Table(stack.coordination_table))
    dead_number, _ = slot_store.take_number()
    stopped = start(stack, 2297)
    wait_until(lambda: (stack.job(stopped) or {}).get("status") == "WAITING", what="a clone to wait")
    failing = start(stack, 99999)  # no such store: TARGET_NOT_FOUND once it gets its slot
    wait_until(lambda: (stack.job(failing) or {}).get("status") == "WAITING", what="another clone to wait")
    passed, held = slot_line(stack)

    # Stopped in WaitForSlot: its number leaves the line, once however often the change is delivered.
    assert stack.stop_execution(stopped) == {"cloneId": stopped, "released": False}
    assert slot_line(stack) == (passed + 1, held)
    status_change = execution_status_change(stack.execution_arn(stopped), stack.state_machine_arn, stopped, "ABORTED")
    assert stack.invoke("SlotReaperFunction", status_change)["released"] is False
    assert slot_line(stack) == (passed + 1, held)

    # The failing clone gets the slot once overdue (past the dead number), fails, releases it.
    assert stack.stop_execution(running)["released"] is True
    assert stack.wait_for_clone(failing, timeout=120)["errorCode"] == "TARGET_NOT_FOUND"
    assert stack.wait(stack.execution_arn(failing))["status"] == "FAILED"
    after_failure = slot_line(stack)
    assert after_failure == (passed + 2, 0)

    # Every failed execution reaches the reaper too (the rule matches FAILED): it holds nothing,
    # and its number, ahead of the dead one, passed when it was admitted.
    ended = execution_status_change(stack.execution_arn(failing), stack.state_machine_arn, failing, "FAILED")
    assert stack.invoke("SlotReaperFunction", ended) == {"cloneId": failing, "released": False}
    assert slot_line(stack) == after_failure
    # Out of the line it was left in: the clones of the tests after this one wait for no dead number.
    assert slot_store.skip(dead_number, time.time())


def test_ecwid_is_asked_no_faster_than_the_budget_and_nothing_fails_for_it(stack, settings):
    # At poll scale 0.02, 1.2 requests a "minute" is one request a second, one at a time.
    settings(ECWID_BUDGET_PER_MINUTE="1.2", ECWID_BUDGET_BURST="1")
    clone_ids = [start(stack, target) for target in (2205, 2206, 2207)]

    jobs = [stack.wait_for_clone(clone_id, timeout=240) for clone_id in clone_ids]

    assert [job["status"] for job in jobs] == ["COMPLETED"] * 3
    outputs = [
        json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])
        for clone_id in clone_ids
        for e in stack.history(stack.execution_arn(clone_id))
        if e["type"] == "LambdaFunctionSucceeded"
    ]
    waited = [o for o in outputs if "budget" in o]
    assert waited, "some step was told to wait for the budget"
    # Every Lambda returned at once: the waiting happened in Wait states.
    invocations = [
        i for i in stack.invocations if i.get("function") in ("StartCloneFunction", "CheckCloneStatusFunction")
    ]
    assert invocations and max(i["seconds"] for i in invocations) < 2
    times = sorted(
        r["time"]
        for r in stack.sandbox.request_log()
        if r["path"] == "/api/v3/stores/clone"
        and r["query"].get("targetStoreId") in {"2205", "2206", "2207"}
        or r["query"].get("ticket") in {job["ticket"] for job in jobs}
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # One a second, give or take the burst's early allowance (one interval) and clock jitter.
    assert min(gaps) > 0.3 and sum(gaps) / len(gaps) > 0.8
