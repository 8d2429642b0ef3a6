"""The fault suite: many clones through the local stack while Ecwid, Lambda and
the network misbehave. Its own stack, so the sandbox's stores start fresh."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.ecwid_sandbox import SandboxConfig
from local.stack import LocalStack

SECRET = "reliability-suite-secret-7f3a9c"
FINAL = ("COMPLETED", "FAILED", "TIMED_OUT")


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("reliability") / "lambda.log"
    # Real clones take a minute or more, longer than StartClone's retries: a POST
    # whose answer was lost is retried while its clone still runs, and the retry
    # follows the running ticket. Sandbox clones here take Ecwid's shortest time,
    # a minute (Retry intervals are real seconds, not scaled): at 20 s a loaded
    # machine let a lost clone finish before its retry (CLONE_ANSWER_LOST).
    config = SandboxConfig(client_id="reliability-app", client_secret=SECRET, queued_seconds=2.0, clone_seconds=60.0)
    with LocalStack(sandbox_config=config, poll_scale=0.1, log_path=log_path) as running:
        # A slow answer must outlast the client's read timeout.
        running.configure(ECWID_READ_TIMEOUT="1", ECWID_CONNECT_TIMEOUT="1")
        # The deadline is not under test here: a slow machine must not turn a burst into timeouts.
        running.configure(CLONE_DEADLINE_SECONDS="36000")
        running.log_path = log_path
        running.api_answers = []  # every API answer body the suite saw, for the secrets check
        yield running


@pytest.fixture(autouse=True)
def clean_faults(stack):
    stack.sandbox.faults.reset()
    stack.lambda_faults.clear()
    yield
    stack.sandbox.faults.reset()
    stack.lambda_faults.clear()


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


FIGURES: list[tuple[str, dict]] = []


@pytest.fixture
def report():
    """Keep the suite's figures for the end of the test run's output."""
    return lambda title, figures: FIGURES.append((title, figures))


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("reliability figures")
        for title, figures in FIGURES:
            terminalreporter.write_line(title)
            for name, value in figures.items():
                terminalreporter.write_line(f"  {name}: {value}")
