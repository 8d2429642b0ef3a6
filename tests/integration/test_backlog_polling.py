"""Polling while Ecwid's request budget has a backlog, on the local stack: the plan from the
template's durations, its hops (a look at the budget, no Ecwid request), the poll when the
backlog is gone, and what the job learns from a finish that backlog polls only bracketed."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import boto3
import pytest

from ecwid_cloner.ecwid.budget import BudgetPolicy, Priority
from ecwid_cloner.ecwid.budget_store import DynamoBudgetStore
from ecwid_cloner.polling import DEFAULT_POLICY, MIN_BACKLOG_HISTORY
from tests.integration.helpers import fresh_targets, run_clone, state_outputs

SOURCE = 990023  # a template of our own: its history is only what this module makes
CLONE_SECONDS = 5.0  # real seconds: 250 s of the policy's at the stack's 0.02


@pytest.fixture(scope="module")
def template(stack):
    """A template with enough history for polling under a backlog, all of it quiet-time clones."""
    stack.sandbox.add_store(SOURCE, products=20, categories=2, clone_seconds=CLONE_SECONDS)
    with ThreadPoolExecutor(5) as pool:
        runs = list(pool.map(lambda _: clone_of_template(stack), range(MIN_BACKLOG_HISTORY)))
    assert all(run.job["status"] == "COMPLETED" for run in runs)
    assert all("backlogPolls" not in run.job for run in runs), "no backlog while the history was made"
    return SOURCE


def clone_of_template(stack):
    return run_clone(stack, {"sourceStoreId": SOURCE, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})


@contextmanager
def backlog(stack, lead_seconds: float) -> Iterator[threading.Event]:
    """Other requests keep the shared budget's schedule ``lead_seconds`` (real) ahead of now, as a
    crowd of running clones would; setting the event it yields ends them."""
    store = DynamoBudgetStore(boto3.resource("dynamodb").Table(stack.coordination_table))
    policy = BudgetPolicy(per_minute=540, burst=10, time_scale=stack.poll_scale)
    done = threading.Event()

    def top_up() -> None:
        now = time.time()
        missing = lead_seconds - store.lead(now)
        if missing > 0:
            store.book(now, policy, Priority.RUNNING, math.ceil(missing / policy.interval))

    def book_ahead() -> None:
        while not done.wait(0.05):
            top_up()

    top_up()
    booker = threading.Thread(target=book_ahead, daemon=True)
    booker.start()
    try:
        yield done
    finally:
        done.set()
        booker.join()


def ecwid_polls(stack, ticket: str) -> list[float]:
    """When Ecwid was asked for the status of ``ticket``."""
    return [
        entry["time"]
        for entry in stack.sandbox.request_log()
        if entry["method"] == "GET" and entry["query"].get("ticket") == ticket
    ]


def test_under_a_backlog_a_clone_waits_for_its_planned_poll_in_hops_and_polls_once(stack, template):
    # 0.5 real seconds are 25 of the policy's: a backlog (10), within new work's 30 s horizon.
    with backlog(stack, 0.5):
        run = clone_of_template(stack)

    assert run.job["status"] == "COMPLETED"
    outputs = [output for output in state_outputs(run) if "poll" in output]
    first = outputs[0]["poll"]  # StartClone's
    assert first["backlogWait"] and len(first["durations"]) >= MIN_BACKLOG_HISTORY
    planned = first["pollAt"] - first["startedAt"]
    # The first poll at the template's p90 (its clones took 5 s and a little), waited in hops.
    assert CLONE_SECONDS <= planned <= 2 * CLONE_SECONDS
    assert first["waitSeconds"] == int(DEFAULT_POLICY.backlog_hop * stack.poll_scale) < planned
    hops = [o for o in outputs[1:] if o["poll"]["attempt"] == 0 and "budget" not in o]
    assert hops and all(o["poll"]["pollAt"] == first["pollAt"] for o in hops)
    polls = ecwid_polls(stack, run.job["ticket"])
    assert len(polls) == 1 and polls[0] >= first["pollAt"], "one poll, the planned one"
    # The job learns a duration within what the polls bracketed, and says the backlog spaced them.
    assert int(run.job["backlogPolls"]) >= 1
    assert 0 < float(run.job["cloneSeconds"]) <= polls[0] - float(run.job["startedAtEpoch"])


def test_when_the_backlog_is_gone_the_next_hop_polls_at_once(stack, template):
    clone: list = []
    with backlog(stack, 0.5) as done:
        worker = threading.Thread(target=lambda: clone.append(clone_of_template(stack)))
        worker.start()
        deadline = time.monotonic() + 30
        while not any(job.get("status") == "QUEUED" for job in recent_jobs(stack)):
            assert time.monotonic() < deadline, "StartClone did not run"
            time.sleep(0.05)
        done.set()  # the crowd is gone just after the POST
    worker.join()
    run = clone[0]

    assert run.job["status"] == "COMPLETED"
    first = next(output for output in state_outputs(run) if "poll" in output)["poll"]
    assert first["backlogWait"]
    polls = ecwid_polls(stack, run.job["ticket"])
    # The first hop found the budget clear and polled, long before the planned poll; the
    # clone was still running, and quiet-time polls found its finish.
    assert polls[0] < first["pollAt"] - 1
    assert len(polls) >= 2 and "backlogPolls" in run.job


def recent_jobs(stack) -> list[dict]:
    """Jobs of this template not finished yet (the one a test just started)."""
    items = boto3.resource("dynamodb").Table(stack.jobs_table).scan()["Items"]
    return [item for item in items if item.get("sourceStoreId") == SOURCE and "finishedAt" not in item]
