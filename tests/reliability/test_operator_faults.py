"""Operators' actions under double clicks and lost answers: each acts once."""

from __future__ import annotations

import threading
import time

import boto3

from tests.integration.helpers import wait_until
from tests.reliability.helpers import in_parallel, wait_all

TEMPLATE = 1003


def answered(stack, method: str, path: str, body=None, lost: list | None = None) -> tuple[int, dict]:
    """The call, sent again (the same request) until an answer comes back: the API Lambda's
    result may be lost after it did its work, as a client behind a timeout sees it."""
    for _ in range(50):
        try:
            return stack.api(method, path, body)
        except RuntimeError:  # API Gateway would answer 502/504: the client tries again
            if lost is not None:
                lost.append(path)
    raise AssertionError(f"{method} {path}: no answer in 50 tries")


def test_retries_double_clicked_with_lost_answers_start_one_attempt_each(stack, report):
    targets = list(range(2101, 2121))
    # Every clone is refused at once by a terminal code (no Ecwid time spent)...
    stack.sandbox.faults.post.error_codes = ["TARGET_NOT_ALLOWED_TO_CLONE"] * len(targets)
    started = in_parallel(
        lambda target: answered(
            stack, "POST", "/clones", {"sourceStoreId": TEMPLATE, "targetStoreId": target, "scope": "CATALOG"}
        ),
        targets,
    )
    failed = [body["cloneId"] for _, body in started]
    assert {job["errorCode"] for job in wait_all(stack, failed).values()} == {"TARGET_NOT_ALLOWED_TO_CLONE"}
    # ... and retried, confirmed, by three clicks each, a third of the API's answers lost.
    stack.lambda_faults["ApiFunction"] = 0.33
    lost: list[str] = []
    clicks = [(clone_id, click) for clone_id in failed for click in range(3)]
    answers = in_parallel(
        lambda pair: answered(
            stack, "POST", f"/clones/{pair[0]}/retry", {"confirmTarget": True, "requestId": f"ops-{pair[0]}"}, lost
        ),
        clicks,
    )
    stack.lambda_faults.clear()

    attempts = {
        clone_id: {body["cloneId"] for (c, _), (_, body) in zip(clicks, answers, strict=True) if c == clone_id}
        for clone_id in failed
    }
    assert all(len(ids) == 1 for ids in attempts.values()), attempts
    jobs = wait_all(stack, [next(iter(ids)) for ids in attempts.values()])
    report(
        "retries: 20 failed clones, 3 clicks each, a third of the answers lost",
        {"retry calls": len(clicks) + len(lost), "answers lost": len(lost), "attempts started": len(jobs)},
    )
    assert lost, "answers were lost"
    assert [job["status"] for job in jobs.values()] == ["COMPLETED"] * len(targets)
    assert all(stack.sandbox.accepted_clones(target) == 1 for target in targets)


def test_cancels_double_clicked_with_lost_answers_cancel_once_and_announce_once(stack, report):
    targets = list(range(2121, 2131))
    started = [
        answered(stack, "POST", "/clones", {"sourceStoreId": TEMPLATE, "targetStoreId": t, "scope": "CATALOG"})[1]
        for t in targets
    ]
    clone_ids = [body["cloneId"] for body in started]
    wait_until(
        lambda: all(stack.job(c)["status"] in ("QUEUED", "IN_PROGRESS") for c in clone_ids), timeout=120, what="running"
    )
    stack.lambda_faults["ApiFunction"] = 0.33
    lost: list[str] = []
    answers = in_parallel(
        lambda clone_id: answered(stack, "POST", f"/clones/{clone_id}/cancel", {"reason": "wrong template"}, lost),
        [clone_id for clone_id in clone_ids for _ in range(3)],
    )
    stack.lambda_faults.clear()

    assert {status for status, _ in answers} <= {200, 202} and {body["status"] for _, body in answers} == {"CANCELLED"}
    sfn = boto3.client("stepfunctions")
    wait_until(
        lambda: all(
            sfn.describe_execution(executionArn=stack.execution_arn(c))["status"] == "ABORTED" for c in clone_ids
        ),
        timeout=120,
        what="the executions stopped",
    )
    time.sleep(1)
    events = [e for c in clone_ids for e in stack.delivered_events(c) if e["detail-type"] == "Clone Failed"]
    report(
        "cancels: 10 running clones, 3 clicks each, a third of the answers lost",
        {"answers lost": len(lost), "Clone Failed events": len(events)},
    )
    assert sorted(e["detail"]["cloneId"] for e in events) == sorted(clone_ids), "one Clone Failed per clone"
    assert all(stack.job(c)["ecwidTicketMayComplete"] is True for c in clone_ids)


def test_a_bulk_whose_worker_loses_results_counts_every_clone_once(stack, report):
    targets = list(range(2131, 2161))
    source = 1090
    stack.sandbox.add_store(source, products=5, categories=1, responding=False)  # its clones fail, retried out
    started = [
        answered(stack, "POST", "/clones", {"sourceStoreId": source, "targetStoreId": t, "scope": "CATALOG"})[1]
        for t in targets
    ]
    failed = [body["cloneId"] for body in started]
    assert {job["errorCode"] for job in wait_all(stack, failed).values()} == {"SOURCE_NOT_RESPONDING"}
    stack.sandbox.add_store(source, products=5, categories=1)  # it answers again
    # Retry all of them: the bulk asked three times, the API's answers lost now and then, and the
    # worker's first result lost after it acted on the whole page (Step Functions runs it again).
    stack.lambda_faults.update({"BulkWorkerFunction": 1.0, "ApiFunction": 0.2})

    def worker_results_lost() -> int:
        return sum(
            1 for i in stack.invocations if i["error"] == "Sandbox.Timedout" and i["function"] == "BulkWorkerFunction"
        )

    def lift() -> None:
        wait_until(lambda: worker_results_lost() >= 1, timeout=300, what="a lost worker result")
        stack.lambda_faults["BulkWorkerFunction"] = 0.0

    threading.Thread(target=lift, daemon=True).start()
    body = {"action": "retry", "filter": {"status": "FAILED", "sourceStoreId": source}, "requestId": "retry-1090"}
    bulks = in_parallel(lambda _: answered(stack, "POST", "/clones/bulk", body), range(3))
    assert len({bulk["bulkId"] for _, bulk in bulks}) == 1
    bulk_id = bulks[0][1]["bulkId"]
    view = wait_until(
        lambda: (v := answered(stack, "GET", f"/clones/bulk/{bulk_id}")[1])["status"] == "COMPLETED" and v,
        timeout=300,
        what="the bulk",
    )
    stack.lambda_faults.clear()
    report(
        "bulk retry of 30 failed clones, the worker's first result lost after it acted",
        {
            **{k: view[k] for k in ("matched", "done", "skipped", "failed")},
            "worker results lost": worker_results_lost(),
        },
    )
    assert worker_results_lost() >= 1
    assert (view["matched"], view["done"], view["skipped"], view["failed"]) == (30, 30, 0, 0)
    attempts = [stack.job(clone_id)["retriedBy"] for clone_id in failed]
    assert len(set(attempts)) == 30 and all(a.endswith("-a2") for a in attempts)
    jobs = wait_all(stack, attempts)
    assert [job["status"] for job in jobs.values()] == ["COMPLETED"] * 30
    assert all(stack.sandbox.accepted_clones(target) == 1 for target in targets)
