"""No orphaned stores (issue 21): a provisioning that fails leaves the store it created
suspended (FailedStoreAction's default), deleted or kept, on the job, in the Clone Failed event
and in the sandbox's Reseller API; a retry resumes a suspended store first; operators suspend,
resume and delete by hand. On the local stack, the sandbox over real HTTP."""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from tests.integration.helpers import fresh_targets, run_clone, wait_until

TEMPLATE = 1003
_emails = itertools.count(1)


@pytest.fixture
def merchant() -> dict:
    return {"email": f"orphan-{next(_emails)}-{time.time_ns()}@example.com", "name": "Ann Owner"}


def failed_provisioning(stack, merchant: dict):
    """A provisioning whose clone Ecwid ends FAILED, after CreateStore made the store."""
    stack.sandbox.faults.failed_ticket_rate = 1.0
    try:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    finally:
        stack.sandbox.faults.failed_ticket_rate = 0.0
    assert (run.job["status"], run.job["errorCode"]) == ("FAILED", "CLONE_FAILED")
    return run


def failed_event(stack, clone_id: str) -> dict:
    [event] = [e for e in stack.delivered_events(clone_id) if e["detail-type"] == "Clone Failed"]
    return event["detail"]


def reseller_calls(stack, call: str) -> int:
    return sum(1 for r in stack.sandbox.request_log() if r["path"].endswith(f"/resellerapi/v1/{call}"))


@pytest.mark.parametrize(
    ("configured", "status", "suspended", "deleted"),
    [("suspend", "DONE", True, False), ("delete", "DONE", False, True), ("keep", "KEPT", False, False)],
)
def test_a_failed_provisioning_leaves_its_store_as_configured(
    stack, settings, merchant, configured, status, suspended, deleted
):
    if configured != "suspend":  # suspend: the default, set by no one
        settings(FAILED_STORE_ACTION=configured)

    run = failed_provisioning(stack, merchant)

    store = int(run.job["targetStoreId"])
    action = run.job["storeAction"]
    assert (action["action"], action["status"], action["by"], int(action["storeId"])) == (
        configured,
        status,
        "FailedStoreAction",
        store,
    )
    # What the sandbox's Reseller API did to the one store made for the merchant.
    assert stack.sandbox.created_stores(merchant["email"]) == [store]
    record = stack.sandbox.store(store)
    assert (record["suspended"], record["deleted"]) == (suspended, deleted)
    # The event says so, and the API shows it.
    detail = failed_event(stack, run.clone_id)
    assert (detail["errorCode"], detail["storeAction"]["action"], detail["storeAction"]["status"]) == (
        "CLONE_FAILED",
        configured,
        status,
    )
    _, view = stack.api("GET", f"/clones/{run.clone_id}")
    assert view["storeAction"]["action"] == configured
    # The execution went through the step, once.
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in stack.history(stack.execution_arn(run.clone_id))
        if e["type"].endswith("StateEntered")
    ]
    assert entered.count("SettleFailedStore") == 1


def test_a_clone_into_an_existing_store_touches_no_store_when_it_fails(stack):
    stack.sandbox.faults.failed_ticket_rate = 1.0
    target = next(fresh_targets)
    try:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": target, "scope": "CATALOG"})
    finally:
        stack.sandbox.faults.failed_ticket_rate = 0.0

    assert run.job["status"] == "FAILED" and "storeAction" not in run.job
    assert stack.sandbox.store(target)["suspended"] is False
    assert "storeAction" not in failed_event(stack, run.clone_id)


def test_a_retry_resumes_the_suspended_store_and_completes_into_it(stack, merchant):
    failed = failed_provisioning(stack, merchant)
    store = int(failed.job["targetStoreId"])
    assert stack.sandbox.store(store)["suspended"] is True
    resumes = reseller_calls(stack, "resume")

    status, answer = stack.api("POST", f"/clones/{failed.clone_id}/retry")

    assert status == 202
    attempt = stack.wait_for_clone(answer["cloneId"])
    assert attempt["status"] == "COMPLETED" and int(attempt["targetStoreId"]) == store
    assert stack.sandbox.store(store)["suspended"] is False and reseller_calls(stack, "resume") == resumes + 1
    assert stack.sandbox.created_stores(merchant["email"]) == [store]  # reused, never made twice
    assert stack.job(failed.clone_id)["storeAction"]["action"] == "resume"


def test_a_retry_of_a_clone_whose_store_was_deleted_makes_a_new_store(stack, settings, merchant):
    settings(FAILED_STORE_ACTION="delete")
    failed = failed_provisioning(stack, merchant)
    deleted = int(failed.job["targetStoreId"])

    status, answer = stack.api("POST", f"/clones/{failed.clone_id}/retry")

    assert status == 202
    attempt = stack.wait_for_clone(answer["cloneId"])
    assert attempt["status"] == "COMPLETED" and int(attempt["targetStoreId"]) != deleted
    assert stack.sandbox.created_stores(merchant["email"]) == [deleted, int(attempt["targetStoreId"])]
    assert stack.sandbox.store(deleted)["deleted"] is True


def test_operators_suspend_resume_and_delete_a_store_this_stack_created(stack, merchant):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    store = int(run.job["targetStoreId"])
    path = f"/clones/{run.clone_id}/store"

    status, suspended = stack.api("POST", f"{path}/suspend")
    assert status == 200 and suspended["targetStoreId"] == store
    assert (suspended["storeAction"]["action"], suspended["storeAction"]["status"]) == ("suspend", "DONE")
    assert stack.sandbox.store(store)["suspended"] is True
    # Asked again: the same answer, and nothing asked of Ecwid.
    calls = reseller_calls(stack, "suspend")
    assert stack.api("POST", f"{path}/suspend") == (200, suspended)
    assert reseller_calls(stack, "suspend") == calls

    status, resumed = stack.api("POST", f"{path}/resume")
    assert (status, resumed["storeAction"]["action"]) == (200, "resume")
    assert stack.sandbox.store(store)["suspended"] is False

    status, deleted = stack.api("POST", f"{path}/delete")
    assert (status, deleted["storeAction"]["action"], deleted["storeAction"]["status"]) == (200, "delete", "DONE")
    assert stack.sandbox.store(store)["deleted"] is True
    assert stack.api("POST", f"{path}/delete")[0] == 200  # a delete repeated is done
    status, refused = stack.api("POST", f"{path}/resume")
    assert status == 409 and refused["errors"][0]["field"] == "action"


def test_a_delete_whose_answer_was_lost_is_taken_as_done(stack, merchant):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    store = int(run.job["targetStoreId"])
    # The first delete reached Ecwid; its answer never came back, so the job knows nothing of it.
    deleted = requests.post(
        f"{stack.sandbox.reseller_base_url}/delete",
        data={"ownerid": str(store), "key": stack.sandbox.config.reseller_key},
        timeout=10,
    )
    assert deleted.status_code == 200 and stack.sandbox.store(store)["deleted"] is True

    status, answer = stack.api("POST", f"/clones/{run.clone_id}/store/delete")  # the operator asks again

    assert (status, answer["storeAction"]["action"], answer["storeAction"]["status"]) == (200, "delete", "DONE")


@pytest.mark.parametrize(
    ("case", "status", "field"),
    [
        ("an existing store", 409, "targetStoreId"),
        ("unknown clone", 404, "cloneId"),
        ("no such action", 400, "action"),
    ],
)
def test_a_store_action_that_cannot_be_done_is_refused(stack, case, status, field):
    action = "restart" if case == "no such action" else "suspend"
    if case == "unknown clone":
        clone_id = "2001-nothing"
    else:
        target = next(fresh_targets)
        clone_id = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": target, "scope": "CATALOG"}).clone_id

    answer_status, answer = stack.api("POST", f"/clones/{clone_id}/store/{action}")

    assert answer_status == status, answer
    assert field in [error["field"] for error in answer["errors"]] or field in str(answer["errors"])
    if case == "an existing store":
        assert stack.sandbox.store(target)["suspended"] is False


def test_a_running_clones_store_is_not_touched_and_a_cancel_suspends_it(stack, merchant):
    stack.sandbox.faults.stuck_ticket_rate = 1.0
    try:
        _, started = stack.api("POST", "/clones", {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
        clone_id = started["cloneId"]
        wait_until(lambda: stack.job(clone_id).get("ticket"), timeout=60, what="the clone's ticket")
        store = int(stack.job(clone_id)["targetStoreId"])

        status, refused = stack.api("POST", f"/clones/{clone_id}/store/suspend")
        assert status == 409 and refused["errors"][0]["field"] == "status"

        status, cancelled = stack.api("POST", f"/clones/{clone_id}/cancel", {"reason": "wrong template"})
    finally:
        stack.sandbox.faults.stuck_ticket_rate = 0.0
    assert status == 202
    job = stack.job(clone_id)
    assert (job["storeAction"]["action"], job["storeAction"]["status"]) == ("suspend", "DONE")
    assert stack.sandbox.store(store)["suspended"] is True
    detail = failed_event(stack, clone_id)
    assert (detail["errorCode"], detail["storeAction"]["action"]) == ("CANCELLED", "suspend")


def test_without_the_reseller_key_the_job_says_the_store_was_left(stack, merchant):
    stack.set_reseller_key(None)
    try:
        run = failed_provisioning(stack, merchant)
    finally:
        stack.set_reseller_key(stack.sandbox.config.reseller_key)

    assert (run.job["storeAction"]["action"], run.job["storeAction"]["status"]) == ("suspend", "NO_RESELLER_KEY")
    assert stack.sandbox.store(int(run.job["targetStoreId"]))["suspended"] is False
