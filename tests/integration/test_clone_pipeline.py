"""The state machine, end to end, on the local stack against the Ecwid sandbox."""

from __future__ import annotations

import json
import time

import boto3
import pytest
import requests

from tests.integration.helpers import (
    failure_error,
    fault_until,
    lambda_errors,
    read_mapping,
    run_clone,
    state_outputs,
)

TEMPLATE = 1003


def clone_outside_the_pipeline(stack, source: int, target: int, scope: str | None = None) -> dict:
    """POST a clone straight to the sandbox, as another system (or a lost attempt of ours) would."""
    sandbox = stack.sandbox
    params = {"sourceStoreId": source, "targetStoreId": target, **({"scope": scope} if scope else {})}
    headers = {
        "X-Ecwid-App-Client-Id": sandbox.config.client_id,
        "X-Ecwid-App-Secret-Key": sandbox.config.client_secret,
    }
    answer = requests.post(f"{sandbox.base_url}/stores/clone", params=params, headers=headers, timeout=5)
    answer.raise_for_status()
    return answer.json()


def started(run) -> dict:
    """StartClone's output: the first state that carries the polling state."""
    return next(output for output in state_outputs(run) if "poll" in output)


def wait_until_filled(stack, target: int, timeout: float = 30) -> None:
    """Until a clone into ``target`` has finished (the sandbox fills the target as it finishes)."""
    deadline = time.monotonic() + timeout
    while not stack.sandbox.store(target)["products"]:
        assert time.monotonic() < deadline, "the sandbox clone did not fill the target"
        time.sleep(0.2)


def assert_mapping_matches_sandbox(stack, run, source: int, target: int) -> None:
    """Every source product and category mapped once, onto what the target now holds."""
    source_store, target_store = stack.sandbox.store(source), stack.sandbox.store(target)
    for entity in ("products", "categories"):
        mapping = read_mapping(stack, run.clone_id, entity)
        assert sorted(mapping) == sorted(str(i) for i in source_store[entity])
        assert sorted(mapping.values()) == sorted(str(i) for i in target_store[entity])
        # The lookup users make: target store + source ID, one GetItem.
        some_source = next(iter(mapping))
        assert stack.mapping_store().get(target, entity, some_source) == mapping[some_source]


def test_catalog_clone_completes_and_maps_every_entity(stack, empty_target):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.execution["status"] == "SUCCEEDED"
    job = run.job
    assert job["status"] == "COMPLETED"
    assert (int(job["products"]), int(job["categories"])) == (500, 40)
    assert job["scope"] == "CATALOG" and job["ticket"] and job["finishedAt"] >= job["startedAt"]
    # Every poll counted on the job is a status GET Ecwid saw for this ticket (the first may
    # already see COMPLETED once the template's durations are learned).
    status_gets = [
        r for r in stack.sandbox.request_log() if r["method"] == "GET" and r["query"].get("ticket") == job["ticket"]
    ]
    assert int(job["polls"]) == len(status_gets) >= 1
    assert_mapping_matches_sandbox(stack, run, TEMPLATE, empty_target)
    assert stack.sandbox.accepted_clones(empty_target) == 1
    # The scope reached Ecwid as asked.
    posts = [
        r
        for r in stack.sandbox.request_log()
        if r["method"] == "POST" and r["query"].get("targetStoreId") == str(empty_target)
    ]
    assert [p["query"].get("scope") for p in posts] == ["CATALOG"]


def test_full_clone_without_scope_completes(stack, empty_target):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target})

    assert run.job["status"] == "COMPLETED"
    assert "scope" not in run.job
    assert_mapping_matches_sandbox(stack, run, TEMPLATE, empty_target)
    posts = [
        r
        for r in stack.sandbox.request_log()
        if r["method"] == "POST" and r["query"].get("targetStoreId") == str(empty_target)
    ]
    assert "scope" not in posts[0]["query"]


def test_settings_only_clone_maps_nothing(stack, empty_target):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "STORE_SETTINGS"})

    assert run.job["status"] == "COMPLETED"
    assert (int(run.job["products"]), int(run.job["categories"])) == (0, 0)
    assert read_mapping(stack, run.clone_id, "products") == {}


def test_clone_demo_catalog_maps_the_demo_products_too(stack, empty_target):
    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG", "cloneDemoCatalog": True}
    )

    assert run.job["status"] == "COMPLETED"
    source = stack.sandbox.store(TEMPLATE)
    assert int(run.job["products"]) == len(source["products"]) + len(source["demoProducts"])


def test_non_empty_target_fails_with_the_ecwid_code(stack):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": 3005, "scope": "CATALOG"})

    assert run.execution["status"] == "FAILED"
    assert failure_error(run) == "TARGET_PRODUCTS_NOT_EMPTY"
    assert run.job["status"] == "FAILED"
    assert run.job["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"
    assert run.job["errorMessage"] == "Target store products should be empty"
    assert "ticket" not in run.job
    # Terminal: tried once, never retried.
    assert lambda_errors(run) == ["EcwidTerminalError"]
    assert stack.sandbox.accepted_clones(3005) == 0
    assert read_mapping(stack, run.clone_id, "products") == {}


def test_second_clone_into_a_filled_target_is_refused(stack, empty_target):
    first = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})
    second = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert first.job["status"] == "COMPLETED"
    assert second.job["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"
    # The first clone's mapping is untouched by the refused one.
    assert len(read_mapping(stack, first.clone_id, "products")) == 500


def test_failed_ticket_is_recorded(stack, empty_target):
    stack.sandbox.faults.failed_ticket_rate = 1.0
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.execution["status"] == "FAILED"
    assert failure_error(run) == "CLONE_FAILED"
    assert run.job["status"] == "FAILED"
    assert run.job["errorCode"] == "CLONE_FAILED"
    assert run.job["errorMessage"]  # Ecwid's errorMessage, kept
    assert read_mapping(stack, run.clone_id, "products") == {}


@pytest.mark.parametrize("code", ["UNKNOWN_INTERNAL_ERROR", "SOURCE_NOT_RESPONDING", "UNKNOWN_IMPORT_FAILED_TO_START"])
def test_retryable_start_error_is_retried_and_the_clone_completes(stack, empty_target, code):
    stack.sandbox.faults.post.error_codes = [code]
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.job["status"] == "COMPLETED"
    assert lambda_errors(run) == ["EcwidRetryableError"]
    assert stack.sandbox.accepted_clones(empty_target) == 1


def test_failing_status_polls_do_not_fail_the_clone(stack, empty_target):
    faults = stack.sandbox.faults
    # Faults on the first GETs, not at a rate: once durations are learned a single poll may
    # see COMPLETED, and a drawn rate could then meet no fault at all.
    fault_until(faults, "get", "5xx", hits=2)
    fault_until(faults, "get", "malformed", hits=1)
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.job["status"] == "COMPLETED"
    transient = max(o["poll"].get("transientErrors", 0) for o in state_outputs(run) if "poll" in o)
    assert transient >= 3 and transient == faults.counts.get("get.5xx", 0) + faults.counts.get("get.malformed", 0)
    assert_mapping_matches_sandbox(stack, run, TEMPLATE, empty_target)


def test_rate_limited_poll_waits_at_least_retry_after(stack, empty_target):
    stack.sandbox.faults.get.retry_after_seconds = 3
    fault_until(stack.sandbox.faults, "get", "429", hits=2)  # the first two GETs meet a 429
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.job["status"] == "COMPLETED"
    limited = [o for o in state_outputs(run) if o.get("poll", {}).get("lastError") == "RATE_LIMITED"]
    assert limited and all(o["poll"]["waitSeconds"] >= 3 for o in limited)


def test_timed_out_ticket_is_recorded_as_timed_out(stack, empty_target):
    stack.sandbox.faults.stuck_ticket_rate = 1.0
    stack.configure(CLONE_DEADLINE_SECONDS="200")  # 200 s at poll scale 0.02: 4 s
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.execution["status"] == "FAILED"
    assert failure_error(run) == "CLONE_TIMED_OUT"
    assert run.job["status"] == "TIMED_OUT"
    assert run.job["errorCode"] == "CLONE_TIMED_OUT"
    assert run.job["ticket"] in run.job["errorMessage"]


def test_start_retried_after_ecwid_accepted_adopts_the_running_ticket(stack, empty_target):
    """The Lambda died after the POST: the retry finds its intent and follows the ticket."""
    from ecwid_cloner.data.jobs import JobsRepository
    from ecwid_cloner.models import CloneRequest, clone_id_for

    clone_id = clone_id_for(empty_target, "lambda-died-after-post")
    request = CloneRequest(TEMPLATE, empty_target, "CATALOG")
    # What the lost attempt left: its intent, its POST counted, no ticket.
    jobs = JobsRepository(boto3.resource("dynamodb").Table(stack.jobs_table))
    jobs.record_intent(clone_id, request)
    jobs.begin_post(clone_id)
    sandbox = stack.sandbox
    accepted = clone_outside_the_pipeline(stack, TEMPLATE, empty_target, "CATALOG")

    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"}, clone_id=clone_id
    )

    assert run.job["status"] == "COMPLETED"
    assert run.job["ticket"] == accepted["ticket"]
    assert sandbox.accepted_clones(empty_target) == 1


def test_start_retried_after_its_lost_clone_finished_names_the_lost_answer(stack, empty_target):
    """The Lambda died after the POST and the clone finished before the retry: the
    target is full of our own clone, whose ticket was lost. Not "not empty"."""
    from ecwid_cloner.data.jobs import JobsRepository
    from ecwid_cloner.models import CloneRequest, clone_id_for

    clone_id = clone_id_for(empty_target, "lambda-died-clone-finished")
    jobs = JobsRepository(boto3.resource("dynamodb").Table(stack.jobs_table))
    jobs.record_intent(clone_id, CloneRequest(TEMPLATE, empty_target, "CATALOG"))
    jobs.begin_post(clone_id)
    clone_outside_the_pipeline(stack, TEMPLATE, empty_target, "CATALOG")
    wait_until_filled(stack, empty_target)

    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"}, clone_id=clone_id
    )

    assert run.job["status"] == "FAILED"
    assert run.job["errorCode"] == "CLONE_ANSWER_LOST"
    assert "Target store products should be empty" in run.job["errorMessage"]
    assert stack.sandbox.accepted_clones(empty_target) == 1


def test_not_empty_without_an_earlier_post_stays_ecwids_own_code(stack, empty_target):
    clone_outside_the_pipeline(stack, TEMPLATE, empty_target, "CATALOG")
    wait_until_filled(stack, empty_target)

    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    assert run.job["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"


def test_a_job_created_before_start_does_not_adopt_a_foreign_ticket(stack, empty_target):
    """The API records the job before StartClone runs: that alone is no claim on a running ticket."""
    from ecwid_cloner.data.jobs import JobsRepository
    from ecwid_cloner.models import CloneRequest, clone_id_for

    clone_id = clone_id_for(empty_target, "recorded-by-the-api")
    JobsRepository(boto3.resource("dynamodb").Table(stack.jobs_table)).record_intent(
        clone_id, CloneRequest(TEMPLATE, empty_target, "CATALOG")
    )
    clone_outside_the_pipeline(stack, TEMPLATE, empty_target, "CATALOG")

    run = run_clone(
        stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"}, clone_id=clone_id
    )

    assert run.job["errorCode"] == "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"


def test_someone_elses_running_clone_is_not_adopted(stack, empty_target):
    stack.sandbox.add_store(990001, products=5, categories=1)
    clone_outside_the_pipeline(stack, 990001, empty_target)

    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target})

    assert run.job["status"] == "FAILED"
    assert run.job["errorCode"] == "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"


def test_state_stays_small_for_a_large_mapping(stack, empty_target):
    stack.sandbox.add_store(990002, products=20_000, categories=2_000)
    run = run_clone(stack, {"sourceStoreId": 990002, "targetStoreId": empty_target, "scope": "CATALOG"}, timeout=300)

    assert run.job["status"] == "COMPLETED"
    assert int(run.job["products"]) == 20_000
    assert len(read_mapping(stack, run.clone_id, "products")) == 20_000
    assert run.largest_state_bytes() < 4096


def test_rerun_of_a_finished_clone_starts_nothing(stack, empty_target):
    """A second execution for a clone id that already finished reports the job as it is."""
    first = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})
    # Step Functions refuses a second execution of the same name; a replay
    # under a new execution name with the same clone id must still not re-clone.
    arn = boto3.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn,
        name=first.clone_id + "-replay",
        input=json.dumps(
            {
                "cloneId": first.clone_id,
                "request": {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"},
            }
        ),
    )["executionArn"]
    execution = stack.wait(arn)

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["result"] == {"products": 500, "categories": 40}
    assert stack.sandbox.accepted_clones(empty_target) == 1


def test_repeat_clones_of_a_template_poll_less(stack):
    """After five clones of a template, the next waits until just before its expected finish."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.integration.helpers import fresh_targets

    stack.sandbox.add_store(990003, products=30, categories=3, clone_seconds=4.0)
    first_targets = [next(fresh_targets) for _ in range(5)]
    with ThreadPoolExecutor(5) as pool:
        first = list(
            pool.map(
                lambda t: run_clone(stack, {"sourceStoreId": 990003, "targetStoreId": t, "scope": "CATALOG"}),
                first_targets,
            )
        )
    repeat = run_clone(stack, {"sourceStoreId": 990003, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})

    assert all(run.job["status"] == "COMPLETED" for run in first + [repeat])
    assert all(started(run)["poll"]["expectedSeconds"] is None for run in first)  # no history yet
    learned = started(repeat)["poll"]
    assert learned["expectedSeconds"] > 0 and learned["waitSeconds"] > 1
    assert int(repeat.job["polls"]) < min(int(run.job["polls"]) for run in first)
