"""GET /clones: an operator's list of clones by status, newest first, paged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from tests.integration.helpers import run_clone

TEMPLATE = 1003


def get(stack, query: str) -> tuple[int, dict]:
    return stack.api("GET", f"/clones?{query}")


def test_failed_clones_are_listed_newest_first_and_paged(stack, empty_target):
    failed = [run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": target}) for target in (3001, 3001)]
    completed = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"})
    assert all(run.job["status"] == "FAILED" for run in failed) and completed.job["status"] == "COMPLETED"

    status, page = get(stack, "status=FAILED&targetStoreId=3001")
    assert status == 200
    listed = [clone["cloneId"] for clone in page["clones"]]
    assert listed[:2] == [failed[1].clone_id, failed[0].clone_id], "newest first"
    assert all(c["status"] == "FAILED" and c["targetStoreId"] == 3001 for c in page["clones"])
    assert page["clones"][0]["errorCode"] == "TARGET_NOT_ALLOWED_TO_CLONE"
    assert page["clones"][0]["links"]["self"].endswith(page["clones"][0]["cloneId"])

    # Page by page, one at a time: the same clones, none twice.
    seen, token = [], None
    for _ in range(20):
        status, page = get(
            stack, "status=FAILED&targetStoreId=3001&limit=1" + (f"&nextToken={quote(token)}" if token else "")
        )
        assert status == 200
        seen += [clone["cloneId"] for clone in page["clones"]]
        token = page["nextToken"]
        if not token:
            break
    assert seen == listed

    status, page = get(stack, f"status=COMPLETED&targetStoreId={empty_target}")
    assert [c["cloneId"] for c in page["clones"]] == [completed.clone_id]


def test_since_keeps_the_newer_ones(stack):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": 3001})
    created = datetime.fromisoformat(run.job["createdAt"].replace("Z", "+00:00"))
    before = quote((created - timedelta(seconds=1)).isoformat())
    after = quote((created + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=2))).isoformat())

    assert run.clone_id in [c["cloneId"] for c in get(stack, f"status=FAILED&since={before}")[1]["clones"]]
    assert run.clone_id not in [c["cloneId"] for c in get(stack, f"status=FAILED&since={after}")[1]["clones"]]


def test_bad_queries_are_400_naming_the_parameter(stack):
    cases = {
        "": "status",
        "status=DONE": "status",
        "status=FAILED&limit=0": "limit",
        "status=FAILED&limit=101": "limit",
        "status=FAILED&targetStoreId=abc": "targetStoreId",
        "status=FAILED&since=yesterday": "since",
        "status=FAILED&since=1700000000": "since",  # not taken for Unix seconds
        "status=FAILED&since=2026-11-26T00:00:00": "since",  # a moment needs its zone
        "status=FAILED&since=2026-02-30T00:00:00Z": "since",
        "status=FAILED&nextToken=not-a-token": "nextToken",
    }
    for query, field in cases.items():
        status, answer = get(stack, query)
        assert status == 400, (query, answer)
        assert field in [error["field"] for error in answer["errors"]], (query, answer)
    # A token of another status's list is refused too.
    run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": 3001})
    run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": 3001})
    token = get(stack, "status=FAILED&limit=1")[1]["nextToken"]
    assert token
    status, answer = get(stack, f"status=COMPLETED&nextToken={quote(token)}")
    assert status == 400 and json.dumps(answer).count("another status") == 1
