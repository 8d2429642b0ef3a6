"""The optional Instant Site step after a store clone, on the local stack."""

from __future__ import annotations

from tests.integration.helpers import fault_until, fresh_targets, read_mapping, run_clone

TEMPLATE = 1003


def instant_site_calls(stack, target: int) -> list[dict]:
    return [
        r
        for r in stack.sandbox.request_log()
        if "/instantsite/" in r["path"] and str(target) in r["path"] + str(r["query"])
    ]


def test_instant_site_is_cloned_after_the_store(stack, empty_target):
    stack.put_store_secret(empty_target, stack.sandbox.store_secret_token(empty_target))
    run = run_clone(
        stack,
        {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG", "instantSite": {"draft": True}},
    )

    assert run.execution["status"] == "SUCCEEDED"
    assert run.job["status"] == "COMPLETED"
    assert run.job["instantSite"] == {"status": "COMPLETED", "draft": True}
    site = stack.sandbox.store(empty_target)["instantSite"]
    assert (site["source"], site["draft"], site["published"], site["clones"]) == (TEMPLATE, True, False, 1)
    # After the store clone, never before it.
    entered = [e["stateEnteredEventDetails"]["name"] for e in run.history if e["type"].endswith("StateEntered")]
    assert entered.index("CloneInstantSite") > max(i for i, name in enumerate(entered) if name == "CheckCloneStatus")


def test_published_when_draft_is_false(stack, empty_target):
    stack.put_store_secret(empty_target, stack.sandbox.store_secret_token(empty_target))
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "instantSite": {"draft": False}})

    assert run.job["instantSite"] == {"status": "COMPLETED", "draft": False}
    assert stack.sandbox.store(empty_target)["instantSite"]["published"] is True


def test_a_failed_instant_site_step_leaves_the_store_clone_completed(stack):
    target = next(fresh_targets)
    stack.sandbox.add_store(target, demo_products=2, instant_site_scopes=("clone_stores",))  # no manage_instant_site
    stack.put_store_secret(target, stack.sandbox.store_secret_token(target))
    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "targetStoreId": target, "scope": "CATALOG", "instantSite": {"draft": True}}
    )

    assert run.execution["status"] == "SUCCEEDED"
    assert run.job["status"] == "COMPLETED" and int(run.job["products"]) == 500
    outcome = run.job["instantSite"]
    assert outcome["status"] == "FAILED" and outcome["draft"] is True
    assert outcome["error"]["errorCode"] == "INSTANT_SITE_HTTP_403"
    assert len(read_mapping(stack, run.clone_id, "products")) == 500  # the store clone stands
    assert stack.sandbox.store(target)["instantSite"] is None


def test_a_missing_store_secret_is_a_clear_terminal_error(stack, empty_target):
    run = run_clone(
        stack,
        {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG", "instantSite": {"draft": True}},
    )

    assert run.job["status"] == "COMPLETED"
    error = run.job["instantSite"]["error"]
    assert error["errorCode"] == "STORE_SECRET_MISSING"
    assert f"store-cloner/stores/{empty_target}" in error["errorMessage"]
    # Terminal: one try, and Ecwid's Instant Site API was never called.
    failures = [e for e in run.history if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) == 1
    assert instant_site_calls(stack, empty_target) == []


def test_a_retryable_instant_site_fault_recovers(stack, empty_target):
    stack.put_store_secret(empty_target, stack.sandbox.store_secret_token(empty_target))
    fault_until(stack.sandbox.faults, "instant_site", "5xx", hits=1)
    run = run_clone(
        stack,
        {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG", "instantSite": {"draft": True}},
    )

    assert run.job["instantSite"] == {"status": "COMPLETED", "draft": True}
    assert [
        e["lambdaFunctionFailedEventDetails"]["error"] for e in run.history if e["type"] == "LambdaFunctionFailed"
    ] == ["EcwidRetryableError"]


def test_without_the_option_nothing_changes(stack, empty_target):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.job["status"] == "COMPLETED" and "instantSite" not in run.job
    entered = {e["stateEnteredEventDetails"]["name"] for e in run.history if e["type"].endswith("StateEntered")}
    assert "CloneInstantSite" not in entered
    assert instant_site_calls(stack, empty_target) == []


def test_the_option_through_the_api_and_a_signup(stack):
    api_target, signup_target = next(fresh_targets), next(fresh_targets)
    for target in (api_target, signup_target):
        stack.put_store_secret(target, stack.sandbox.store_secret_token(target))
    status, body = stack.api(
        "POST", "/clones", {"sourceStoreId": TEMPLATE, "targetStoreId": api_target, "instantSite": {"draft": False}}
    )
    assert status == 202
    stack.send_signup({"signupId": "site-1", "targetStoreId": signup_target, "instantSite": {"draft": True}})
    stack.drain_signups()

    api_job = stack.wait_for_clone(body["cloneId"])
    signup_job = stack.wait_for_clone(stack.job_for_target(signup_target)["cloneId"])
    assert api_job["instantSite"] == {"status": "COMPLETED", "draft": False}
    assert signup_job["instantSite"] == {"status": "COMPLETED", "draft": True}
    status, view = stack.api("GET", f"/clones/{body['cloneId']}")
    assert view["instantSite"] == {"status": "COMPLETED", "draft": False}


def test_a_bad_instant_site_option_is_refused(stack):
    for option, field in (
        ({"draft": "yes"}, "instantSite.draft"),
        ({}, "instantSite.draft"),
        ({"draft": True, "publish": 1}, "instantSite.publish"),
        (True, "instantSite"),
    ):
        status, body = stack.api(
            "POST", "/clones", {"sourceStoreId": TEMPLATE, "targetStoreId": 2299, "instantSite": option}
        )
        assert status == 400, option
        assert [e["field"] for e in body["errors"]] == [field], option
