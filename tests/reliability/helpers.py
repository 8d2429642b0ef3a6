"""What the fault suite's tests share besides fixtures."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from local.stack import LocalStack

SECRET = "reliability-suite-secret-7f3a9c"
RESELLER_KEY = "reliability-reseller-key-2e8b51"
FINAL = ("COMPLETED", "FAILED", "TIMED_OUT")


def wait_all(stack: LocalStack, clone_ids: list[str], timeout: float = 600) -> dict[str, dict]:
    """Wait until every clone has a final job; returns the jobs."""
    deadline = time.monotonic() + timeout
    jobs: dict[str, dict] = {}
    while len(jobs) < len(clone_ids):
        for clone_id in clone_ids:
            if clone_id not in jobs:
                job = stack.job(clone_id)
                if job and job["status"] in FINAL and _execution_done(stack, clone_id):
                    jobs[clone_id] = job
        if time.monotonic() > deadline:
            missing = sorted(set(clone_ids) - set(jobs))
            raise TimeoutError(f"{len(missing)} clones unfinished, e.g. {missing[:3]}")
        time.sleep(0.5)
    return jobs


def _execution_done(stack: LocalStack, clone_id: str) -> bool:
    import boto3

    return (
        boto3.client("stepfunctions").describe_execution(executionArn=stack.execution_arn(clone_id))["status"]
        != "RUNNING"
    )


def retries_made(stack: LocalStack, clone_ids: list[str]) -> dict[str, int]:
    """Retries the state machine made (failed task attempts) and polls that failed and were repeated."""
    failed_tasks, failed_polls = 0, 0
    for clone_id in clone_ids:
        history = stack.history(stack.execution_arn(clone_id))
        failed_tasks += sum(1 for event in history if event["type"] == "LambdaFunctionFailed")
        outputs = [
            json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
            for event in history
            if event["type"] == "LambdaFunctionSucceeded"
        ]
        failed_polls += max((o.get("poll", {}).get("transientErrors", 0) for o in outputs), default=0)
    return {"task attempts retried": failed_tasks, "status polls repeated": failed_polls}


def in_parallel(function, items, workers: int = 8) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))
