"""A bulk cancel at the scale an operator meets it: 200 signups in line behind 5 slots.

Its own stack, at half speed as the burst's: at the integration tests' 0.02 the waiting
line would ask for its slots fifty times as often as on AWS, more than one process can serve.
"""

from __future__ import annotations

import time

import boto3
import pytest

from local.ecwid_sandbox import SandboxConfig
from local.stack import LocalStack
from tests.integration.helpers import wait_until

SIGNUPS, SLOTS = 200, 5
SOURCE = 1010


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    config = SandboxConfig(
        client_id="bulk-app", client_secret="bulk-secret-91c2", queued_seconds=0.5, clone_seconds=3.0
    )
    log_path = tmp_path_factory.mktemp("bulk") / "lambda.log"
    with LocalStack(sandbox_config=config, poll_scale=0.5, log_path=log_path) as running:
        running.configure(MAX_CLONES_IN_FLIGHT=str(SLOTS))
        running.sandbox.add_store(SOURCE, products=20, categories=3)
        yield running


def waiting(stack) -> int:
    count, key = 0, None
    while True:
        page, key = stack.jobs.list_by_status("WAITING", limit=100, start_key=key)
        count += len(page)
        if not key:
            return count


def test_a_bulk_cancel_empties_the_line_and_frees_every_slot_and_place(stack):
    slots = boto3.resource("dynamodb").Table(stack.coordination_table)
    # The clones that take the slots run until the test lets them finish: the line stays as it is
    # while it is cancelled, however long this machine takes.
    stack.sandbox.faults.stuck_ticket_rate = 1.0
    for index in range(SIGNUPS):
        stack.send_signup(
            {
                "signupId": f"line-{index}",
                "sourceStoreId": SOURCE,
                "scope": "CATALOG",
                "merchant": {"email": f"line-{index}@example.com", "name": "Waiter"},
            }
        )
    stack.drain_signups(max_rounds=10 * SIGNUPS)
    clone_ids = [execution["name"] for execution in stack.executions()]
    assert len(clone_ids) == SIGNUPS
    wait_until(lambda: waiting(stack) == SIGNUPS - SLOTS, timeout=300, what="the line")
    started = time.monotonic()

    status, dry = stack.api(
        "POST", "/clones/bulk", {"action": "cancel", "filter": {"status": "WAITING"}, "dryRun": True}
    )
    assert (status, dry["matched"], len(dry["sample"])) == (200, SIGNUPS - SLOTS, 10)
    body = {"action": "cancel", "filter": {"status": "WAITING"}, "requestId": "stop-the-line"}
    status, bulk = stack.api("POST", "/clones/bulk", body)
    assert (status, bulk["matched"]) == (202, SIGNUPS - SLOTS)
    again = stack.api("POST", "/clones/bulk", body)  # a double click: the same bulk
    assert again[0] == 200 and again[1]["bulkId"] == bulk["bulkId"]
    view = wait_until(
        lambda: (v := stack.api("GET", f"/clones/bulk/{bulk['bulkId']}")[1])["status"] == "COMPLETED" and v,
        timeout=300,
        what="the bulk",
    )
    bulk_seconds = time.monotonic() - started

    assert (view["matched"], view["done"], view["failed"], view["skipped"]) == (SIGNUPS - SLOTS, SIGNUPS - SLOTS, 0, 0)
    jobs = {clone_id: stack.job(clone_id) for clone_id in clone_ids}
    cancelled = sorted(c for c, job in jobs.items() if job["status"] == "CANCELLED")
    assert len(cancelled) == SIGNUPS - SLOTS
    assert all(
        jobs[c]["ecwidTicketMayComplete"] is False and jobs[c]["cancelledBy"] == f"bulk {bulk['bulkId']}"
        for c in cancelled
    )
    # The clones that held the slots run to the end, the line gone before them.
    running = [c for c in clone_ids if c not in cancelled]
    stack.sandbox.faults.stuck_ticket_rate = 0.0
    for clone_id in running:
        stack.sandbox.set_ticket_outcome(str(jobs[clone_id]["ticket"]), "COMPLETED")
    assert [stack.wait_for_clone(c, timeout=300)["status"] for c in running] == ["COMPLETED"] * SLOTS
    # Every cancelled execution stopped; nothing leaked: every slot back, every number passed once.
    sfn = boto3.client("stepfunctions")
    # (One that reached its own end in the instant between the job's write and the stop ends FAILED.)
    ended = [sfn.describe_execution(executionArn=stack.execution_arn(c))["status"] for c in cancelled]
    assert set(ended) <= {"ABORTED", "FAILED"} and ended.count("ABORTED") >= len(cancelled) * 0.9
    line = slots.get_item(Key={"name": "clone-slots"})["Item"]
    assert (int(line["inFlight"]), int(line["passed"])) == (0, int(line["arrivals"]))
    # Each cancelled clone was announced, once, as CANCELLED.
    announced = [
        e["detail"]["cloneId"] for e in stack.delivered_events() if e["detail"].get("errorCode") == "CANCELLED"
    ]
    assert sorted(announced) == cancelled
    # A new clone takes a slot at once.
    fresh = stack.clone({"sourceStoreId": 1003, "targetStoreId": 2300, "scope": "CATALOG"})
    assert fresh.job["status"] == "COMPLETED" and "waitingPlace" not in fresh.job
    print({"cancelled": len(cancelled), "bulkSeconds": round(bulk_seconds, 1)})
