"""Faults survived, nothing lost, nothing cloned twice."""

from __future__ import annotations

import json

import boto3

from tests.integration.helpers import fault_until, read_mapping
from tests.reliability.helpers import RESELLER_KEY, SECRET, in_parallel, retries_made, wait_all

TEMPLATE = 1003


def faulted_twenty_percent(faults) -> None:
    """20 % of the calls to each endpoint fail, spread over every kind of fault."""
    for endpoint in (faults.post, faults.get):
        endpoint.error_5xx_rate = 0.04
        endpoint.rate_429 = 0.04
        endpoint.retry_after_seconds = 1
        endpoint.slow_rate = 0.04
        endpoint.slow_seconds = 1.5  # past the 1 s read timeout the suite sets
        endpoint.drop_rate = 0.04
        endpoint.malformed_rate = 0.04


def assert_complete_mapping(stack, clone_id: str) -> None:
    source = stack.sandbox.store(TEMPLATE)
    for entity in ("products", "categories"):
        mapping = read_mapping(stack, clone_id, entity)  # asserts no source ID twice
        assert sorted(mapping) == sorted(str(i) for i in source[entity]), entity


def test_fifty_clones_complete_with_a_fifth_of_ecwid_calls_faulted(stack, report):
    faults = stack.sandbox.faults
    faulted_twenty_percent(faults)
    faults.post.error_codes = ["UNKNOWN_INTERNAL_ERROR", "SOURCE_NOT_RESPONDING", "UNKNOWN_IMPORT_FAILED_TO_START"] * 2
    # And Lambdas that die after their work is done (the retry must not clone twice).
    stack.lambda_faults.update({"StartCloneFunction": 0.15, "CheckCloneStatusFunction": 0.05})
    targets = list(range(2001, 2051))

    answers = in_parallel(
        lambda target: stack.api(
            "POST",
            "/clones",
            {
                "sourceStoreId": TEMPLATE,
                "targetStoreId": target,
                "scope": "CATALOG",
                "requestId": f"fault-{target}",
            },
        ),
        targets,
    )
    stack.api_answers.extend(body for _, body in answers)
    assert {status for status, _ in answers} == {202}
    clone_ids = [body["cloneId"] for _, body in answers]
    jobs = wait_all(stack, clone_ids)

    completed = [job for job in jobs.values() if job["status"] == "COMPLETED"]
    accepted = {target: stack.sandbox.accepted_clones(target) for target in targets}
    report(
        "50 clones, 20 % of Ecwid calls faulted",
        {
            "clones": len(clone_ids),
            "faults injected by kind": dict(sorted(faults.counts.items())),
            "Lambda results lost": sum(1 for i in stack.invocations if i["error"] == "Sandbox.Timedout"),
            **retries_made(stack, clone_ids),
            "clones completed": len(completed),
            "targets cloned twice": sum(1 for n in accepted.values() if n > 1),
        },
    )
    assert len(completed) == 50, {
        j["cloneId"]: (j.get("errorCode"), j.get("errorMessage")) for j in jobs.values() if j["status"] != "COMPLETED"
    }
    assert set(accepted.values()) == {1}, "every target accepted exactly one clone"
    assert sum(faults.counts.values()) >= 50  # the faults really happened
    for clone_id in clone_ids:
        assert_complete_mapping(stack, clone_id)


def test_fifty_signups_delivered_twice_make_fifty_clones(stack, report):
    targets = list(range(2051, 2101))
    executions_before = len(stack.executions())
    for _delivery in range(2):
        for target in targets:
            stack.send_signup({"signupId": f"twice-{target}", "targetStoreId": target, "scope": "CATALOG"})
        stack.drain_signups()

    new_executions = len(stack.executions()) - executions_before
    clone_ids = [stack.job_for_target(target)["cloneId"] for target in targets]
    jobs = wait_all(stack, clone_ids)
    report(
        "50 signups delivered twice",
        {
            "messages sent": 100,
            "executions started": new_executions,
            "clones completed": sum(1 for j in jobs.values() if j["status"] == "COMPLETED"),
            "dead letters": len(stack.dead_letters()),
        },
    )
    assert new_executions == 50
    assert all(job["status"] == "COMPLETED" for job in jobs.values())
    assert all(stack.sandbox.accepted_clones(target) == 1 for target in targets)
    assert stack.dead_letters() == []


def test_the_secret_never_shows(stack, report):
    """After the suite: no log line, error body, execution input/output or table holds the app secret,
    the reseller key or a store's token; the store-tokens table holds ciphertexts only."""
    # A failing clone too, so error paths have been through.
    status, body = stack.api("POST", "/clones", {"sourceStoreId": TEMPLATE, "targetStoreId": 3005})
    stack.api_answers.append(body)
    stack.wait_for_clone(body["cloneId"])
    # Provisioning too, through faults: new stores whose own tokens are secrets as well.
    faults = stack.sandbox.faults
    faults.create_store.error_5xx_rate = faults.instant_site.error_5xx_rate = faults.profile.error_5xx_rate = 0.2
    # Two lost creation answers, found through the Reseller API (its key searched for too), itself faulted.
    fault_until(faults, "create_store", "answer_lost", hits=2)
    faults.reseller.error_5xx_rate = 0.2
    provisioned, emails = [], []
    for index in range(6):
        merchant = {"email": f"secret-search-{index}@example.com", "name": "Owner"}
        emails.append(merchant["email"])
        # Half copy the template's settings: PersonalizeStore puts the profile with the store's token.
        scope = {"scope": "CATALOG"} if index % 2 else {}
        status, body = stack.api(
            "POST",
            "/clones",
            {"sourceStoreId": TEMPLATE, "merchant": merchant, **scope, "instantSite": {"draft": True}},
        )
        stack.api_answers.append(body)
        provisioned.append(body["cloneId"])
    jobs = wait_all(stack, provisioned)
    tokens = [stack.sandbox.store_secret_token(store) for store in stack.sandbox.created_stores()]
    assert tokens and any(job["status"] == "COMPLETED" for job in jobs.values())
    found = [job for job in jobs.values() if job.get("storeFoundAfterLostAnswer")]
    assert len(found) == 2 and all(job["instantSite"]["error"]["errorCode"] == "STORE_TOKEN_UNKNOWN" for job in found)

    places = {"lambda log": stack.log_path.read_text()}
    places["events delivered"] = json.dumps(stack.delivered_events())
    places["api answers"] = json.dumps(stack.api_answers)
    histories = [json.dumps(stack.history(e["executionArn"]), default=str) for e in stack.executions()]
    places["execution histories"] = "\n".join(histories)
    places["jobs table"] = json.dumps([stack.job(e["name"]) for e in stack.executions()], default=str)
    places["sandbox request log"] = json.dumps(stack.sandbox.request_log(), default=str)
    token_items = stack.store_token_items()
    # Every byte of every item, ciphertexts read as text: a token stored in plaintext would show.
    places["store-tokens table"] = json.dumps(
        token_items, default=lambda b: b.decode("latin-1") if isinstance(b, bytes) else str(b)
    )
    report(
        "secrets",
        {
            "places searched": ", ".join(places),
            "bytes searched": sum(map(len, places.values())),
            "store tokens searched for": len(tokens),
            "store-token items (ciphertexts) searched": len(token_items),
            "provisionings found after a lost answer": sum(
                1 for j in jobs.values() if j.get("storeFoundAfterLostAnswer")
            ),
        },
    )
    assert histories and stack.log_path.stat().st_size > 0 and "Store Created" in places["events delivered"]
    for place, text in places.items():
        assert SECRET not in text, place
        assert RESELLER_KEY not in text, place
        for token in tokens:
            assert token not in text, f"a created store's token in the {place}"
    # Personal data stays on the job: never in an execution's input, state or history, nor an event.
    assert any(job.get("profile", {}).get("status") == "COMPLETED" for job in jobs.values())
    for email in emails:
        for place in ("execution histories", "events delivered"):
            assert email not in places[place], f"a merchant's e-mail in the {place}"
    # The tokens kept are there, encrypted: each decrypts back to its store's token.
    saved = [int(job["targetStoreId"]) for job in jobs.values() if job.get("storeTokenSaved")]
    assert saved and all(stack.store_tokens().read(store) == stack.sandbox.store_secret_token(store) for store in saved)
    assert all(set(item) <= {"storeId", "ciphertext", "keyArn", "savedAt", "tokenUnknown"} for item in token_items)
    prefix = stack.template.parameters["StoreSecretPrefix"]
    store_secrets = [
        s["Name"]
        for page in boto3.client("secretsmanager").get_paginator("list_secrets").paginate()
        for s in page["SecretList"]
        if s["Name"].startswith(prefix)
    ]
    assert store_secrets == [], "no store's token is a secret of its own any more"
