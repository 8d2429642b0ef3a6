"""What the operator console reads from the API, on the local stack: GET /campaign (clones by
status, slots and the line, the Ecwid budget, the drain), the clones of one error code, and the
events a clone sent, in its timeline."""

from __future__ import annotations

import itertools
import time

import pytest

from ecwid_cloner.data.job import iso_utc
from tests.integration.helpers import fresh_targets, run_clone, wait_until

TEMPLATE = 1003
_sources = itertools.count(1060)  # sources of these tests' own


def campaign(stack, **query) -> dict:
    path = "/campaign" + ("?" + "&".join(f"{name}={value}" for name, value in query.items()) if query else "")
    status, answer = stack.api("GET", path)
    assert status == 200, answer
    return answer


def test_the_campaign_counts_a_campaigns_clones_by_status(stack):
    since = iso_utc(time.time() - 0.5)
    source = next(_sources)
    stack.sandbox.add_store(source, products=4, categories=1)
    done = [
        run_clone(stack, {"sourceStoreId": source, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
        for _ in range(2)
    ]
    stack.sandbox.faults.failed_ticket_rate = 1.0
    failed = run_clone(stack, {"sourceStoreId": source, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
    stack.sandbox.faults.failed_ticket_rate = 0.0
    assert [run.job["status"] for run in done] + [failed.job["status"]] == ["COMPLETED", "COMPLETED", "FAILED"]

    figures = campaign(stack, since=since, sourceStoreId=source)

    assert figures["since"] == since
    assert figures["counts"] == {
        "STARTING": 0,
        "WAITING": 0,
        "CREATING_STORE": 0,
        "QUEUED": 0,
        "IN_PROGRESS": 0,
        "COMPLETED": 2,
        "FAILED": 1,
        "TIMED_OUT": 0,
        "CANCELLED": 0,
    }
    assert figures["running"] == 0
    # The filters are the list's: one error code, one target.
    assert campaign(stack, since=since, errorCode="CLONE_FAILED")["counts"]["FAILED"] == 1
    assert campaign(stack, since=since, errorCode="SOURCE_NOT_FOUND")["counts"]["FAILED"] == 0
    target = int(done[0].job["targetStoreId"])
    assert campaign(stack, since=since, targetStoreId=target)["counts"]["COMPLETED"] == 1
    # Every clone ever, without since: at least these.
    assert campaign(stack)["counts"]["COMPLETED"] >= 2


def test_the_clones_of_one_error_code_are_listed(stack):
    source = next(_sources)
    stack.sandbox.add_store(source, products=2, categories=1)
    stack.sandbox.faults.failed_ticket_rate = 1.0
    failed = run_clone(stack, {"sourceStoreId": source, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
    stack.sandbox.faults.failed_ticket_rate = 0.0
    missing = run_clone(stack, {"sourceStoreId": 999_999, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
    assert (failed.job["errorCode"], missing.job["errorCode"]) == ("CLONE_FAILED", "SOURCE_NOT_FOUND")

    status, page = stack.api("GET", "/clones?status=FAILED&errorCode=CLONE_FAILED&limit=100")

    assert status == 200
    ids = [clone["cloneId"] for clone in page["clones"]]
    assert failed.clone_id in ids and missing.clone_id not in ids
    assert {clone["errorCode"] for clone in page["clones"]} == {"CLONE_FAILED"}
    status, bad = stack.api("GET", "/clones?status=FAILED&errorCode=no%20such%20code")
    assert status == 400 and [e["field"] for e in bad["errors"]] == ["errorCode"]


def test_the_campaign_shows_the_slots_the_line_and_when_it_drains(stack, settings):
    settings(MAX_CLONES_IN_FLIGHT="2")
    stack.sandbox.faults.stuck_ticket_rate = 1.0  # the first two hold their slots while the test looks
    source = next(_sources)
    stack.sandbox.add_store(source, products=2, categories=1)
    clone_ids = [
        stack.api("POST", "/clones", {"sourceStoreId": source, "targetStoreId": next(fresh_targets)})[1]["cloneId"]
        for _ in range(5)
    ]
    try:
        figures = wait_until(
            lambda: (f := campaign(stack))["slots"]["waiting"] == 3 and f["slots"]["inFlight"] == 2 and f,
            what="two clones in flight and three in line",
        )
        assert figures["slots"]["max"] == 2
        assert figures["counts"]["WAITING"] >= 3
        assert figures["drain"]["seconds"] > 0 and figures["drain"]["clonesPerMinute"] > 0
        assert figures["drain"]["limitedBy"] in ("budget", "slots")
    finally:
        stack.sandbox.faults.stuck_ticket_rate = 0.0
        for clone_id in clone_ids:
            stack.api("POST", f"/clones/{clone_id}/cancel", {"reason": "test over"})

    after = campaign(stack)["slots"]
    assert (after["inFlight"], after["waiting"]) == (0, 0)
    assert after["passed"] == after["arrivals"]
    assert campaign(stack)["drain"]["seconds"] == 0


def test_the_budget_counts_every_ecwid_request_booked(stack):
    before = campaign(stack)["budget"]
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": next(fresh_targets), "scope": "CATALOG"})
    assert run.job["status"] == "COMPLETED"

    after = campaign(stack)["budget"]

    # At least the clone's POST and one poll per recorded poll went through the budget.
    assert after["requestsBooked"] - before["requestsBooked"] >= 1 + int(run.job["polls"])
    assert (after["perMinute"], after["burst"], after["timeScale"]) == (540, 10, 0.02)
    assert after["bookedAheadSeconds"] >= 0


@pytest.mark.parametrize("query", ["since=yesterday", "sourceStoreId=0", "errorCode=a%20b"])
def test_a_bad_campaign_query_is_400_naming_the_parameter(stack, query):
    status, answer = stack.api("GET", f"/campaign?{query}")
    assert status == 400 and [e["field"] for e in answer["errors"]] == [query.split("=")[0]]


def test_the_timeline_lists_the_events_a_clone_sent(stack, empty_target):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})

    status, timeline = stack.api("GET", f"/clones/{run.clone_id}/timeline")

    assert status == 200
    [sent] = timeline["events"]
    assert (sent["detailType"], sent["outcome"], sent["sentBy"]) == ("Clone Completed", "published", "state machine")
    delivered = [e for e in stack.delivered_events(run.clone_id) if e["detail-type"] == "Clone Completed"]
    assert sent["eventId"] in {e["id"] for e in delivered}
    assert sent["detail"]["cloneId"] == run.clone_id and sent["detail"]["products"] == int(run.job["products"])


def test_a_cancelled_clone_lists_the_event_its_cancel_sent(stack, empty_target):
    source = next(_sources)
    stack.sandbox.add_store(source, products=2, categories=1, clone_seconds=30)
    clone_id = stack.api("POST", "/clones", {"sourceStoreId": source, "targetStoreId": empty_target})[1]["cloneId"]
    wait_until(lambda: (stack.job(clone_id) or {}).get("status") in ("QUEUED", "IN_PROGRESS"), what="the ticket")
    stack.api("POST", f"/clones/{clone_id}/cancel", {"reason": "wrong template"})

    status, timeline = stack.api("GET", f"/clones/{clone_id}/timeline")

    assert status == 200
    [sent] = timeline["events"]
    assert (sent["detailType"], sent["sentBy"], sent["outcome"]) == ("Clone Failed", "cancel", "published")
    assert sent["at"] == stack.job(clone_id)["cancelledAt"] and sent["detail"]["errorCode"] == "CANCELLED"
