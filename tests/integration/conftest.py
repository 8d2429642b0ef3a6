"""One local stack for the integration tests: moto, the real state machine and
handlers, and the Ecwid sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import itertools
import json

import pytest

from local.ecwid_sandbox import SandboxConfig
from local.stack import CloneRun, LocalStack

# Short sandbox clones and a 0.02 poll scale: each clone takes a few seconds.
SANDBOX = SandboxConfig(queued_seconds=0.3, clone_seconds=2.5)
_targets = itertools.count(2100)  # empty sandbox stores 2001..2300; 2001..2099 left to the demo


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    # Package scope: moto's mock ends with this package, before the unit tests
    # start mocks of their own.
    log_path = tmp_path_factory.mktemp("logs") / "lambda.log"
    with LocalStack(sandbox_config=SANDBOX, poll_scale=0.02, log_path=log_path) as running:
        running.log_path = log_path
        yield running


@pytest.fixture(autouse=True)
def clean_faults(stack):
    stack.sandbox.faults.reset()
    yield
    stack.sandbox.faults.reset()
    stack.configure(CLONE_DEADLINE_SECONDS="3600")


@pytest.fixture
def empty_target() -> int:
    """A sandbox store no other test clones into."""
    return next(_targets)


def run_clone(stack: LocalStack, request: dict, clone_id: str | None = None, timeout: float = 120) -> CloneRun:
    return stack.clone(request, clone_id=clone_id, timeout=timeout)


def read_mapping(stack: LocalStack, clone_id: str, entity: str) -> dict[str, str]:
    store = stack.mapping_store()
    mapping, start = {}, None
    while True:
        page, start = store.page(clone_id, entity, limit=1000, start_key=start)
        assert not set(page) & set(mapping), "a source ID came back twice"
        mapping.update(page)
        if not start:
            return mapping


def failure_error(run: CloneRun) -> str | None:
    failed = run.events("ExecutionFailed")
    return failed[0]["executionFailedEventDetails"].get("error") if failed else None


def lambda_errors(run: CloneRun) -> list[str]:
    return [event["lambdaFunctionFailedEventDetails"]["error"] for event in run.events("LambdaFunctionFailed")]


def state_outputs(run: CloneRun) -> list[dict]:
    return [
        json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
        for event in run.events("LambdaFunctionSucceeded")
    ]
