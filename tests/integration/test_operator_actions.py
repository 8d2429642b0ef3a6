"""Operators act on clones through the API, on the local stack: retry, cancel, bulk, the
timeline, and personal data erased."""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.integration.helpers import fresh_targets, run_clone, wait_until

TEMPLATE = 1003
_emails = itertools.count(1)
_sources = itertools.count(1010)  # sources of the tests' own, that can stop responding


@pytest.fixture
def merchant() -> dict:
    return {"email": f"operator-{next(_emails)}-{time.time_ns()}@example.com", "name": "Ann Owner"}


def a_source(stack, **shape) -> int:
    source = next(_sources)
    stack.sandbox.add_store(source, products=10, categories=2, **shape)
    return source


def retry(stack, clone_id: str, body: dict | None = None) -> tuple[int, dict]:
    return stack.api("POST", f"/clones/{clone_id}/retry", body)


def execution_status(stack, clone_id: str) -> str:
    return boto3.client("stepfunctions").describe_execution(executionArn=stack.execution_arn(clone_id))["status"]


# -- retry -------------------------------------------------------------------------------


def test_a_provisioned_clone_that_failed_is_retried_into_the_same_store(stack, merchant):
    # The source stops responding after the store was made: StartClone's retries run out.
    source = a_source(stack, responding=False)
    first = run_clone(stack, {"sourceStoreId": source, "merchant": merchant, "scope": "CATALOG"}, timeout=180)
    assert (first.job["status"], first.job["errorCode"]) == ("FAILED", "SOURCE_NOT_RESPONDING")
    store = int(first.job["targetStoreId"])

    stack.sandbox.add_store(source, products=10, categories=2)  # Ecwid recovered
    status, answer = retry(stack, first.clone_id)

    assert status == 202
    assert (answer["retryOf"], answer["attempt"]) == (first.clone_id, 2)
    attempt = stack.wait_for_clone(answer["cloneId"])
    assert attempt["status"] == "COMPLETED" and int(attempt["products"]) == 10
    assert int(attempt["targetStoreId"]) == store and stack.sandbox.created_stores(merchant["email"]) == [store]
    assert stack.sandbox.accepted_clones(store) == 1
    # Linked both ways, and shown by the API.
    assert stack.job(first.clone_id)["retriedBy"] == answer["cloneId"]
    _, view = stack.api("GET", f"/clones/{answer['cloneId']}")
    assert (view["attempt"], view["retryOf"], view["merchant"]) == (2, first.clone_id, merchant)
    _, old = stack.api("GET", f"/clones/{first.clone_id}")
    assert (old["attempt"], old["retriedBy"]) == (1, answer["cloneId"])
    # No CreateStore in the attempt: the store was reused, never made twice.
    entered = {
        e["stateEnteredEventDetails"]["name"]
        for e in stack.history(stack.execution_arn(answer["cloneId"]))
        if e["type"].endswith("StateEntered")
    }
    assert "CreateStore" not in entered


def test_a_lost_store_creation_answer_is_resolved_with_the_store_and_completes(stack, merchant):
    # Without the reseller key the pipeline cannot find the store itself: the operator resolves it.
    stack.set_reseller_key(None)
    stack.sandbox.faults.create_store.answer_lost_rate = 1.0
    try:
        lost = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    finally:
        stack.sandbox.faults.create_store.answer_lost_rate = 0.0
        stack.set_reseller_key(stack.sandbox.config.reseller_key)
    assert lost.job["errorCode"] == "STORE_CREATE_ANSWER_LOST"
    [store] = stack.sandbox.created_stores(merchant["email"])  # what the reseller panel shows

    status, refused = retry(stack, lost.clone_id)
    assert status == 409 and refused["errors"][0]["field"] == "targetStoreId"
    assert "reseller panel" in refused["errors"][0]["reason"]
    status, answer = retry(stack, lost.clone_id, {"targetStoreId": store})

    assert status == 202
    attempt = stack.wait_for_clone(answer["cloneId"])
    assert attempt["status"] == "COMPLETED" and int(attempt["targetStoreId"]) == store
    assert attempt["storeGivenByOperator"] is True and attempt["merchant"] == merchant
    assert stack.sandbox.created_stores(merchant["email"]) == [store]


@pytest.mark.parametrize(
    ("case", "status", "field"),
    [
        ("completed", 409, "status"),
        ("not empty", 409, "confirmTarget"),
        ("store given but it has one", 400, "targetStoreId"),
        ("unknown", 404, "cloneId"),
    ],
)
def test_a_retry_that_cannot_succeed_is_refused_with_what_to_do(stack, case, status, field):
    if case == "unknown":
        clone_id, body = "2001-nothing", None
    elif case == "completed":
        clone_id, body = (
            run_clone(
                stack, {"sourceStoreId": TEMPLATE, "targetStoreId": next(fresh_targets), "scope": "CATALOG"}
            ).clone_id,
            None,
        )
    else:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": 3005, "scope": "CATALOG"})  # one product
        assert run.job["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"
        clone_id, body = run.clone_id, {"targetStoreId": 2299} if case.startswith("store given") else None
    executions_before = len(stack.executions())

    answer_status, answer = retry(stack, clone_id, body)

    assert answer_status == status, answer
    assert [e["field"] for e in answer["errors"]] == [field]
    assert len(stack.executions()) == executions_before
    if case == "not empty":
        assert "empty its products" in answer["errors"][0]["reason"]
        # Confirmed: the attempt starts (and meets the same full store, as it would).
        confirmed, attempt = retry(stack, clone_id, {"confirmTarget": True})
        assert confirmed == 202
        assert stack.wait_for_clone(attempt["cloneId"])["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"


def test_retries_are_idempotent_under_double_clicks(stack, empty_target):
    stack.sandbox.faults.failed_ticket_rate = 1.0
    failed = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})
    stack.sandbox.faults.failed_ticket_rate = 0.0
    assert failed.job["errorCode"] == "CLONE_FAILED"
    executions_before = len(stack.executions())

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: retry(stack, failed.clone_id, {"requestId": "click"}), range(6)))

    assert sorted(status for status, _ in answers) == [200] * 5 + [202]
    assert len({answer["cloneId"] for _, answer in answers}) == 1
    assert len(stack.executions()) == executions_before + 1
    attempt = answers[0][1]["cloneId"]
    # Another request is told which attempt to act on; a repeat with no request ID gets the attempt.
    status, other = retry(stack, failed.clone_id, {"requestId": "another"})
    assert status == 409 and attempt in other["errors"][0]["reason"]
    assert retry(stack, failed.clone_id)[1]["cloneId"] == attempt
    assert stack.wait_for_clone(attempt)["status"] == "COMPLETED"
    # The attempt, failed again, is retried as an attempt of the same clone.
    assert attempt.endswith("-a2") and stack.job(attempt)["retryRoot"] == failed.clone_id


# -- cancel ------------------------------------------------------------------------------


def test_a_running_clone_is_cancelled_and_says_ecwid_may_still_complete_it(stack, empty_target):
    source = a_source(stack, clone_seconds=30)  # long enough to cancel it on the way
    status, started = stack.api("POST", "/clones", {"sourceStoreId": source, "targetStoreId": empty_target})
    clone_id = started["cloneId"]
    wait_until(lambda: (stack.job(clone_id) or {}).get("status") in ("QUEUED", "IN_PROGRESS"), what="the ticket")

    status, answer = stack.api("POST", f"/clones/{clone_id}/cancel", {"reason": "wrong template"})

    assert status == 202 and answer["status"] == "CANCELLED" and answer["ecwidTicketMayComplete"] is True
    job = stack.job(clone_id)
    assert (job["status"], job["cancelReason"], job["errorCode"]) == ("CANCELLED", "wrong template", "CANCELLED")
    assert job["cancelledBy"] and job["cancelledAt"] and job["expiresAt"] > time.time() + 399 * 86400
    wait_until(lambda: execution_status(stack, clone_id) == "ABORTED", what="the execution stopped")
    failed = [e for e in stack.delivered_events(clone_id) if e["detail-type"] == "Clone Failed"]
    assert [e["detail"]["errorCode"] for e in failed] == ["CANCELLED"]
    # Again: as it is. A retry into that store waits for the operator's word.
    assert stack.api("POST", f"/clones/{clone_id}/cancel")[0] == 200
    status, refused = retry(stack, clone_id)
    assert status == 409 and refused["errors"][0]["field"] == "confirmTarget"
    assert "Ecwid may still complete" in refused["errors"][0]["reason"]
    ended = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
    assert stack.api("POST", f"/clones/{ended.clone_id}/cancel")[0] == 409


def test_a_bulk_retry_restarts_the_failed_clones_of_a_filter(stack):
    source = a_source(stack)
    stack.sandbox.faults.failed_ticket_rate = 1.0
    targets = [next(fresh_targets) for _ in range(6)]
    failed = [
        run_clone(stack, {"sourceStoreId": source, "targetStoreId": t, "scope": "CATALOG"}).clone_id for t in targets
    ]
    stack.sandbox.faults.failed_ticket_rate = 0.0
    body = {"action": "retry", "filter": {"status": "FAILED", "sourceStoreId": source, "errorCode": "CLONE_FAILED"}}

    status, dry = stack.api("POST", "/clones/bulk", {**body, "dryRun": True})
    assert (status, dry["matched"], sorted(dry["sample"])) == (200, 6, sorted(failed))
    status, bulk = stack.api("POST", "/clones/bulk", body)
    assert status == 202
    view = wait_until(
        lambda: (v := stack.api("GET", f"/clones/bulk/{bulk['bulkId']}")[1])["status"] == "COMPLETED" and v,
        timeout=120,
        what="the bulk",
    )

    assert (view["matched"], view["done"], view["skipped"], view["failed"]) == (6, 6, 0, 0)
    attempts = [stack.wait_for_clone(stack.job(c)["retriedBy"]) for c in failed]
    assert [a["status"] for a in attempts] == ["COMPLETED"] * 6
    # Retried already: a second bulk matches nothing.
    assert stack.api("POST", "/clones/bulk", {**body, "dryRun": True})[1]["matched"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "retry", "filter": {"status": "WAITING"}}, "filter"),
        ({"action": "cancel", "filter": {"status": "COMPLETED"}}, "filter"),
        ({"action": "delete", "filter": {"status": "FAILED"}}, "action"),
        ({"action": "retry", "filter": {"status": "FAILED", "since": "yesterday"}}, "filter.since"),
        ({"action": "retry", "filter": {"status": "FAILED"}, "dryRun": "yes"}, "dryRun"),
        ({"action": "retry", "filter": {}}, "filter.status"),
    ],
)
def test_a_bad_bulk_request_is_400_naming_the_field(stack, body, field):
    status, answer = stack.api("POST", "/clones/bulk", body)
    assert status == 400 and [e["field"] for e in answer["errors"]] == [field]


# -- timeline and personal data ------------------------------------------------------------


def test_the_timeline_says_where_a_clone_spent_its_time(stack, merchant):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    status, timeline = stack.api("GET", f"/clones/{run.clone_id}/timeline")

    assert status == 200 and timeline["status"] == "SUCCEEDED"
    steps = [step["step"] for step in timeline["steps"]]
    assert steps[:2] == ["AcquireSlot", "CreateStore"] and steps[-1] == "CloneCompleted"
    assert "RouteByStatus" not in steps  # choices take no time
    phases = timeline["phases"]
    assert phases["storeCreation"] > 0 and phases["mapping"] > 0 and phases["events"] > 0
    assert phases["ecwidQueued"] + phases["ecwidInProgress"] >= 2.0  # the sandbox's clone takes 2.5 s
    assert sum(phases.values()) <= timeline["seconds"] + 0.01
    checks = [step for step in timeline["steps"] if step["step"] == "CheckCloneStatus"]
    assert checks[-1]["phase"] == "mapping" and checks[-1]["outcome"] == "COMPLETED"
    assert all(step["seconds"] >= 0 and step["leftAt"] >= step["enteredAt"] for step in timeline["steps"])
    assert stack.api("GET", "/clones/2001-nothing/timeline")[0] == 404


def test_personal_data_is_erased_from_an_ended_clone_and_its_attempts(stack, merchant):
    stack.sandbox.faults.failed_ticket_rate = 1.0
    first = run_clone(
        stack,
        {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG", "profile": {"company": {"city": "Lyon"}}},
    )
    stack.sandbox.faults.failed_ticket_rate = 0.0
    _, attempt = retry(stack, first.clone_id)
    assert stack.api("DELETE", f"/clones/{first.clone_id}/merchant")[0] in (200, 409)  # 409 while the attempt runs
    stack.wait_for_clone(attempt["cloneId"])

    status, answer = stack.api("DELETE", f"/clones/{attempt['cloneId']}/merchant")

    assert status == 200 and answer["erased"] == sorted([first.clone_id, attempt["cloneId"]])
    for clone_id in answer["erased"]:
        job = stack.job(clone_id)
        assert "merchant" not in job and "requestedProfile" not in job and job["personalDataErasedAt"]
        assert merchant["email"] not in json.dumps(job, default=str)
        assert job["sourceStoreId"] == TEMPLATE and job["targetStoreId"]  # the facts stay
    assert stack.api("DELETE", f"/clones/{first.clone_id}/merchant")[0] == 200  # again: harmless


def test_a_running_clone_keeps_its_merchant(stack, merchant):
    source = a_source(stack, clone_seconds=20)
    _, started = stack.api("POST", "/clones", {"sourceStoreId": source, "merchant": merchant, "scope": "CATALOG"})
    wait_until(lambda: (stack.job(started["cloneId"]) or {}).get("status") in ("QUEUED", "IN_PROGRESS"), what="running")
    status, answer = stack.api("DELETE", f"/clones/{started['cloneId']}/merchant")
    assert status == 409 and answer["errors"][0]["field"] == "status"
    assert stack.job(started["cloneId"])["merchant"] == merchant
    stack.api("POST", f"/clones/{started['cloneId']}/cancel")


def test_jobs_expire_after_the_retention_and_mappings_only_when_asked(stack, settings, empty_target):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})
    assert abs(int(run.job["expiresAt"]) - (time.time() + 400 * 86400)) < 120
    table = boto3.client("dynamodb")
    item = table.get_item(TableName=stack.mappings_table, Key={"pk": {"S": f"{empty_target}#products#100000000"}})[
        "Item"
    ]
    assert "expiresAt" not in item
    settings(MAPPING_RETENTION_DAYS="30", JOB_RETENTION_DAYS="0")
    try:
        again = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
        assert "expiresAt" not in again.job
        target = int(again.job["targetStoreId"])
        mapped = stack.mapping_store().page(again.clone_id, "products", limit=1)[0]
        source_id = next(iter(mapped))
        item = table.get_item(TableName=stack.mappings_table, Key={"pk": {"S": f"{target}#products#{source_id}"}})[
            "Item"
        ]
        assert abs(int(item["expiresAt"]["N"]) - (time.time() + 30 * 86400)) < 120
    finally:
        stack.configure(MAPPING_RETENTION_DAYS="0", JOB_RETENTION_DAYS="400")
