"""A burst of signups through the local stack against Ecwid's rate limit, counted as Ecwid counts.

Time on the local stack runs ``poll_scale`` times faster than on AWS: every Wait
state, the request budget's rate and the admission waits are scaled by it. The
sandbox's minute is scaled alike (a 6 s "minute" at 0.1) and keeps Ecwid's own
limit, 600 requests, so every figure here is in Ecwid's terms.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ecwid_cloner.data.job import FINAL_STATUSES
from ecwid_cloner.models import JobStatus, Scope, StepStatus

ECWID_LIMIT_PER_MINUTE = 600
# Every Ecwid request a provisioned clone makes, by what it is (method, path on the sandbox).
REQUEST_TYPES = (
    ("createStore", "POST", re.compile(r"/api/v3/stores")),
    ("clonePost", "POST", re.compile(r"/api/v3/stores/clone")),
    ("statusPoll", "GET", re.compile(r"/api/v3/stores/clone")),
    ("storeProfile", "PUT", re.compile(r"/api/v3/[0-9]+/profile")),
    ("instantSiteToken", "POST", re.compile(r"/instantsite/api/v1/oauth/token")),
    ("instantSiteClone", "POST", re.compile(r"/instantsite/api/v1/[0-9]+/clone")),
    ("instantSiteProfile", "PUT", re.compile(r"/instantsite/api/v1/[0-9]+/profile")),
)


def run_burst(
    stack,
    signups: int,
    *,
    source_store_id: int,
    run_id: str,
    limit_per_minute: int = ECWID_LIMIT_PER_MINUTE,
    timeout: float = 900,
) -> dict[str, Any]:
    """Send ``signups`` merchant signups at once (each: a store created, cloned from
    ``source_store_id``, its Instant Site cloned), run the consumer as SQS would, and
    wait for every clone. Returns the figures of bench/burst.py.

    ``limit_per_minute``: the sandbox's limit per (scaled) minute; the stack's budget
    is whatever ECWID_BUDGET_PER_MINUTE the handlers have."""
    sandbox = stack.sandbox
    sandbox.config.rate_limit_per_minute = limit_per_minute
    sandbox.config.rate_limit_window_seconds = 60.0 * stack.poll_scale
    sandbox.forget_request_times()
    limited_before = sandbox.stats().get("rateLimited", 0)
    requests_before = len(sandbox.request_log())
    started = time.monotonic()
    try:
        for index in range(signups):
            stack.send_signup(
                {
                    "signupId": f"{run_id}-{index}",
                    "sourceStoreId": source_store_id,
                    "merchant": {"email": f"{run_id}-{index}@example.com", "name": f"Merchant {index}"},
                    "scope": Scope.CATALOG,
                    "instantSite": {"draft": True},
                }
            )
        consumer = stack.drain_signups(max_rounds=10 * signups)
        clone_ids = [e["name"] for e in stack.executions() if _signup_of(stack, e["name"], run_id)]
        jobs = wait_for(stack, clone_ids, timeout)
        peak = sandbox.peak_requests_per_minute()  # over Ecwid's (scaled) minute, before it is put back
    finally:
        sandbox.config.rate_limit_per_minute = None
        sandbox.config.rate_limit_window_seconds = 60.0
    seconds = time.monotonic() - started
    by_type = requests_by_type(sandbox.request_log()[requests_before:])
    ready = [
        job
        for job in jobs.values()
        if job["status"] == JobStatus.COMPLETED and (job.get("instantSite") or {}).get("status") == StepStatus.COMPLETED
    ]
    return {
        "signups": signups,
        "completed": len(ready),
        "failed": signups - len(ready),
        "deadLetters": len(stack.dead_letters()),
        "ecwid429": sandbox.stats().get("rateLimited", 0) - limited_before,
        "peakRequestsPerMinute": peak,
        "limitPerMinute": limit_per_minute,
        "seconds": round(seconds, 1),
        "consumerItemFailures": consumer["failures"],
        "storesCreated": len([job for job in jobs.values() if job.get("targetStoreId") is not None]),
        "failures": _failures(jobs.values()),
        "requestsPerClone": round(sum(by_type.values()) / max(1, signups), 2),
        "requestsPerCloneByType": {kind: round(count / max(1, signups), 2) for kind, count in by_type.items()},
    }


def requests_by_type(log: list[dict]) -> dict[str, int]:
    """How many Ecwid requests of each type the sandbox answered (429s included: each is a
    request Ecwid counts); a request of no known type counts as "other"."""
    counts = dict.fromkeys([kind for kind, _, _ in REQUEST_TYPES], 0)
    for entry in log:
        kind = next(
            (
                kind
                for kind, method, path in REQUEST_TYPES
                if entry["method"] == method and path.fullmatch(entry["path"])
            ),
            "other",
        )
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _failures(jobs) -> dict[str, int]:
    """errorCode (or the Instant Site step's) -> how many, for the jobs not ready."""
    counts: dict[str, int] = {}
    for job in jobs:
        instant_site = job.get("instantSite") or {}
        if job["status"] != JobStatus.COMPLETED:
            code = f"{job['status']}:{job.get('errorCode')}"
        elif instant_site.get("status") != StepStatus.COMPLETED:
            code = f"INSTANT_SITE:{(instant_site.get('error') or {}).get('errorCode')}"
        else:
            continue
        counts[code] = counts.get(code, 0) + 1
    return counts


def wait_for(stack, clone_ids: list[str], timeout: float) -> dict[str, dict]:
    """Every clone's job once its execution has ended (so the job is final)."""
    import boto3

    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    jobs: dict[str, dict] = {}
    while len(jobs) < len(clone_ids):
        for clone_id in clone_ids:
            if clone_id in jobs:
                continue
            job = stack.job(clone_id)
            if job and job["status"] in FINAL_STATUSES:
                if sfn.describe_execution(executionArn=stack.execution_arn(clone_id))["status"] != "RUNNING":
                    jobs[clone_id] = stack.job(clone_id)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(clone_ids) - len(jobs)} clones unfinished after {timeout} s")
        time.sleep(0.5)
    return jobs


def _signup_of(stack, clone_id: str, run_id: str) -> bool:
    job = stack.job(clone_id) or {}
    return str(job.get("signupId", "")).startswith(f"{run_id}-")
