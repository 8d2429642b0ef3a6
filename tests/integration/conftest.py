"""One local stack for the integration tests: moto, the real state machine and
handlers, and the Ecwid sandbox over real HTTP on 127.0.0.1. Helpers the tests
share are in helpers.py."""

from __future__ import annotations

import boto3
import pytest

from local.ecwid_sandbox import SandboxConfig
from local.stack import LocalStack
from tests.integration.helpers import fresh_targets

# Short sandbox clones and a 0.02 poll scale: each clone takes a few seconds.
SANDBOX = SandboxConfig(queued_seconds=0.3, clone_seconds=2.5)


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
    return next(fresh_targets)


@pytest.fixture
def settings(stack):
    """Change the handlers' settings for one test; the defaults come back after it."""
    changed: list[str] = []

    def configure(**env: str) -> None:
        changed.extend(env)
        stack.configure(**env)

    yield configure
    stack.configure(
        MAX_CLONES_IN_FLIGHT="1000",
        ECWID_BUDGET_PER_MINUTE="540",
        ECWID_BUDGET_BURST="10",
        FAILED_STORE_ACTION="suspend",
    )
    boto3.resource("dynamodb").Table(stack.coordination_table).delete_item(Key={"name": "ecwid-request-budget"})
