"""A merchant in, a ready store out: CreateStore, the clone, the Instant Site, and the
events, on the local stack against the sandbox over real HTTP; the store's token kept
encrypted in the store-tokens table; a lost creation answer found through the Reseller API."""

from __future__ import annotations

import itertools
import json
import time

import boto3
import pytest

from tests.integration.helpers import fault_until, run_clone

TEMPLATE = 1003
_emails = itertools.count(1)


@pytest.fixture
def merchant() -> dict:
    """A merchant no other test used."""
    return {"email": f"merchant-{next(_emails)}-{time.time_ns()}@example.com", "name": "Ann Owner"}


def store_secrets(stack) -> list[str]:
    """The names of the per-store secrets under StoreSecretPrefix (nothing writes them any more)."""
    prefix = stack.template.parameters["StoreSecretPrefix"]
    pages = boto3.client("secretsmanager").get_paginator("list_secrets").paginate()
    return [s["Name"] for page in pages for s in page["SecretList"] if s["Name"].startswith(prefix)]


def token_item(stack, store_id: int) -> dict:
    return next(item for item in stack.store_token_items() if item["storeId"]["N"] == str(store_id))


def delivered(stack, clone_id: str) -> list[dict]:
    return stack.delivered_events(clone_id)


def test_a_merchant_in_a_ready_store_out(stack, merchant):
    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG", "instantSite": {"draft": True}}
    )

    assert run.execution["status"] == "SUCCEEDED"
    job = run.job
    store_id = int(job["targetStoreId"])
    assert stack.sandbox.created_stores(merchant["email"]) == [store_id]
    assert job["status"] == "COMPLETED" and int(job["products"]) == 500 and job["storeTokenSaved"] is True
    # The Instant Site went into the new store, with the token CreateStore kept for it: encrypted in
    # the store-tokens table (no secret of its own), decrypted only with its store ID as context.
    token = stack.sandbox.store_secret_token(store_id)
    assert stack.store_tokens().read(store_id) == token
    item = token_item(stack, store_id)
    assert set(item) == {"storeId", "ciphertext", "keyArn", "savedAt"} and token not in json.dumps(item, default=str)
    assert f"{stack.template.parameters['StoreSecretPrefix']}{store_id}" not in store_secrets(stack)
    assert stack.sandbox.store(store_id)["instantSite"] == {
        "source": TEMPLATE,
        "draft": True,
        "published": False,
        "clones": 1,
    }
    assert job["instantSite"] == {"status": "COMPLETED", "draft": True}
    # The mapping is keyed by the new store, like any clone's.
    assert stack.mapping_store().get(store_id, "products", "100000000")

    events = delivered(stack, run.clone_id)
    assert [e["detail-type"] for e in events] == ["Store Created", "Clone Completed"]
    assert all(e["source"] == "store-cloner" for e in events)
    created, completed = (e["detail"] for e in events)
    assert created["targetStoreId"] == store_id and created["sourceStoreId"] == TEMPLATE
    assert completed["targetStoreId"] == store_id
    assert (completed["products"], completed["categories"]) == (500, 40)
    assert completed["instantSite"] == {"status": "COMPLETED", "draft": True}
    assert completed["durationSeconds"] > 0
    assert token not in json.dumps(events) and token not in json.dumps(run.history, default=str)


def test_the_api_takes_the_merchant_form_and_shows_the_created_store(stack, merchant):
    status, answer = stack.api(
        "POST", "/clones", {"sourceStoreId": TEMPLATE, "merchant": merchant, "requestId": "api-merchant-1"}
    )
    assert status == 202, answer
    clone_id = answer["cloneId"]
    assert clone_id.startswith("new-")
    job = stack.wait_for_clone(clone_id)
    assert job["status"] == "COMPLETED"

    status, view = stack.api("GET", f"/clones/{clone_id}")
    assert status == 200
    assert view["targetStoreId"] == int(job["targetStoreId"]) == stack.sandbox.created_stores(merchant["email"])[0]
    assert view["merchant"] == merchant and view["requestId"] == "api-merchant-1"
    # The same request again is the same clone, and no second store.
    again_status, again = stack.api(
        "POST", "/clones", {"sourceStoreId": TEMPLATE, "merchant": merchant, "requestId": "api-merchant-1"}
    )
    assert (again_status, again["cloneId"]) == (200, clone_id)
    assert len(stack.sandbox.created_stores(merchant["email"])) == 1
    assert delivered(stack, clone_id)[-1]["detail"]["requestId"] == "api-merchant-1"


def test_a_signup_delivered_twice_makes_one_store(stack, merchant):
    message = {"signupId": f"twice-{time.time_ns()}", "merchant": merchant, "scope": "CATALOG"}
    for _ in range(2):
        stack.send_signup(message)
        assert stack.drain_signups()["failures"] == 0
    clone_ids = {e["name"] for e in stack.executions() if e["name"].startswith("new-")}
    job = stack.wait_for_clone(next(iter(c for c in clone_ids if stack.job(c).get("merchant") == merchant)))

    assert job["status"] == "COMPLETED" and job["signupId"] == message["signupId"]
    assert len(stack.sandbox.created_stores(merchant["email"])) == 1
    assert [e["detail-type"] for e in delivered(stack, job["cloneId"])] == ["Store Created", "Clone Completed"]
    assert delivered(stack, job["cloneId"])[0]["detail"]["signupId"] == message["signupId"]


@pytest.mark.parametrize(
    "message",
    [
        {"signupId": "both", "targetStoreId": 2001, "merchant": {"email": "x@example.com", "name": "X"}},
        {"signupId": "neither"},
        {"signupId": "bad-email", "merchant": {"email": "not-an-email", "name": "X"}},
    ],
)
def test_a_bad_merchant_signup_fails_alone_and_creates_nothing(stack, message):
    stores_before = len(stack.sandbox.created_stores())
    executions_before = len(stack.executions())
    stack.send_signup(message)
    counts = stack.drain_signups(max_rounds=10)
    assert counts["failures"] >= 1
    assert len(stack.executions()) == executions_before
    assert len(stack.sandbox.created_stores()) == stores_before


def test_a_taken_email_fails_with_its_own_code_and_a_clone_failed_event(stack, merchant):
    first = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    assert first.job["status"] == "COMPLETED"

    second = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})

    assert second.execution["status"] == "FAILED"
    assert second.job["status"] == "FAILED" and second.job["errorCode"] == "MERCHANT_EMAIL_EXISTS"
    # Ecwid's message quotes the e-mail; the job's message does not (it goes into the state
    # and the event): the e-mail is on the job's merchant, and only there.
    assert "Account with email <merchant e-mail> already exists" in second.job["errorMessage"]
    assert merchant["email"] not in second.job["errorMessage"] and second.job["merchant"] == merchant
    assert "targetStoreId" not in second.job
    assert len(stack.sandbox.created_stores(merchant["email"])) == 1
    events = delivered(stack, second.clone_id)
    assert [e["detail-type"] for e in events] == ["Clone Failed"]
    assert events[0]["detail"]["errorCode"] == "MERCHANT_EMAIL_EXISTS"
    assert merchant["email"] not in json.dumps(events) + json.dumps(second.history, default=str)


def test_a_lost_answer_is_found_through_the_reseller_api_and_the_clone_completes_into_it(stack, merchant):
    """Ecwid made the store and its answer never came: the retry meets a 409 for an e-mail this
    job POSTed, the Reseller API lists the one store of that e-mail since the first POST, and the
    clone goes on into it. Its token came only in the lost answer: the Instant Site step says so."""
    stack.sandbox.faults.create_store.answer_lost_rate = 1.0

    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG", "instantSite": {"draft": True}}
    )

    job = run.job
    assert run.execution["status"] == "SUCCEEDED" and job["status"] == "COMPLETED", job.get("errorMessage")
    (store_id,) = stack.sandbox.created_stores(merchant["email"])  # one store for that e-mail, never a second
    assert int(job["targetStoreId"]) == store_id and int(job["products"]) == 500
    assert stack.sandbox.store(store_id)["products"], "the clone went into the store Ecwid made"
    assert job["storeFoundAfterLostAnswer"] is True and job["storeTokenUnknown"] is True
    assert job["storeTokenSaved"] is False and int(job["storeCreateAttempts"]) >= 2
    assert job["instantSite"]["status"] == "FAILED"
    assert job["instantSite"]["error"]["errorCode"] == "STORE_TOKEN_UNKNOWN"
    assert stack.sandbox.store(store_id)["instantSite"] is None
    lookups = [r for r in stack.sandbox.request_log() if r["path"] == "/resellerapi/v1/stores"]
    assert lookups and all(r["status"] == 200 for r in lookups)
    events = delivered(stack, run.clone_id)
    assert [e["detail-type"] for e in events] == ["Store Created", "Clone Completed"]
    assert events[0]["detail"]["targetStoreId"] == store_id
    view = stack.api("GET", f"/clones/{run.clone_id}")[1]
    assert view["storeFoundAfterLostAnswer"] is True and view["storeTokenUnknown"] is True
    key = stack.sandbox.config.reseller_key
    assert all(key not in json.dumps(x, default=str) for x in (events, run.history, job, stack.sandbox.request_log()))


def test_without_the_reseller_key_a_lost_answer_ends_the_clone_and_never_makes_a_second_store(stack, merchant):
    stack.sandbox.faults.create_store.answer_lost_rate = 1.0
    clones_before = stack.sandbox.accepted_clones()
    before = time.time()
    stack.set_reseller_key(None)
    try:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    finally:
        stack.set_reseller_key(stack.sandbox.config.reseller_key)

    assert run.job["status"] == "FAILED" and run.job["errorCode"] == "STORE_CREATE_ANSWER_LOST"
    assert "reseller panel" in run.job["errorMessage"]
    assert int(run.job["storeCreateAttempts"]) >= 2
    assert len(stack.sandbox.created_stores(merchant["email"])) == 1
    assert stack.sandbox.accepted_clones() == clones_before, "no clone started"
    assert not [r for r in stack.sandbox.request_log() if r["path"].startswith("/resellerapi/") and r["time"] > before]
    assert [e["detail-type"] for e in delivered(stack, run.clone_id)] == ["Clone Failed"]


def test_a_key_the_reseller_api_refuses_ends_the_clone_as_a_lost_answer(stack, merchant):
    stack.sandbox.faults.create_store.answer_lost_rate = 1.0
    stack.set_reseller_key("not-the-partners-key")
    try:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    finally:
        stack.set_reseller_key(stack.sandbox.config.reseller_key)

    assert run.job["errorCode"] == "STORE_CREATE_ANSWER_LOST"
    assert "could not look" in run.job["errorMessage"] and "not-the-partners-key" not in run.job["errorMessage"]
    assert len(stack.sandbox.created_stores(merchant["email"])) == 1


def test_an_older_store_of_the_email_is_never_taken_for_the_lost_one(stack, merchant):
    """The merchant had a store before this signup; its first POST was lost on the way (nothing
    made), the retry meets 409: the Reseller API lists no store since the first POST, so the clone
    ends STORE_CREATE_ANSWER_LOST instead of filling the merchant's own store."""
    older = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})
    assert older.job["status"] == "COMPLETED"
    time.sleep(6)  # past the lookup's allowance for clock skew
    fault_until(stack.sandbox.faults, "create_store", "drop", hits=1)
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})

    assert run.job["status"] == "FAILED" and run.job["errorCode"] == "STORE_CREATE_ANSWER_LOST"
    assert "lists no store" in run.job["errorMessage"]
    assert stack.sandbox.created_stores(merchant["email"]) == [int(older.job["targetStoreId"])]


def test_a_store_creation_is_retried_through_ecwid_trouble(stack, merchant):
    fault_until(stack.sandbox.faults, "create_store", "5xx", hits=2)
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})

    assert run.job["status"] == "COMPLETED"
    assert len(stack.sandbox.created_stores(merchant["email"])) == 1


@pytest.mark.parametrize(
    ("setting", "code"),
    [
        ("no_scope", "STORE_CREATE_NOT_ALLOWED"),
        ("no_plan", "STORE_CREATE_NOT_ALLOWED"),
        ("bad_email", "INVALID_MERCHANT"),
    ],
)
def test_ecwid_refusals_end_the_clone_with_ecwids_message(stack, merchant, setting, code):
    config = stack.sandbox.config
    scopes, allowed = config.app_scopes, config.store_creation_allowed
    if setting == "no_scope":
        config.app_scopes = ("read_stores",)
    elif setting == "no_plan":
        config.store_creation_allowed = False
    else:
        merchant = {**merchant, "name": ""}  # past our own checks (a direct execution), refused by Ecwid
    try:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant})
    finally:
        config.app_scopes, config.store_creation_allowed = scopes, allowed

    assert run.job["status"] == "FAILED" and run.job["errorCode"] == code
    assert run.job["errorMessage"].startswith("Store creation: ")
    posts = [r for r in stack.sandbox.request_log() if r["path"] == "/api/v3/stores" and r["method"] == "POST"]
    assert posts, "Ecwid was asked"
    assert stack.sandbox.created_stores(merchant["email"]) == []


def test_an_event_that_cannot_be_published_never_fails_a_completed_clone(stack, merchant):
    events = boto3.client("events")
    bus = stack.event_bus_name
    events.delete_event_bus(Name=bus)
    try:
        run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"}, timeout=180)
    finally:
        stack.recreate_event_bus()

    assert run.execution["status"] == "SUCCEEDED"
    assert run.job["status"] == "COMPLETED"
    failures = run.job["eventFailures"]
    assert [f["detailType"] for f in failures] == ["Store Created", "Clone Completed"]
    assert all(f["error"] for f in failures)
