"""The fault suite: many clones through the local stack while Ecwid, Lambda and
the network misbehave. Its own stack, so the sandbox's stores start fresh."""

from __future__ import annotations

import pytest

from local.ecwid_sandbox import SandboxConfig
from local.stack import LocalStack
from tests.reliability.helpers import RESELLER_KEY, SECRET


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("reliability") / "lambda.log"
    # Real clones take a minute or more, longer than StartClone's retries: a POST
    # whose answer was lost is retried while its clone still runs, and the retry
    # follows the running ticket. Sandbox clones here take Ecwid's shortest time,
    # a minute (Retry intervals are real seconds, not scaled): at 20 s a loaded
    # machine let a lost clone finish before its retry (CLONE_ANSWER_LOST).
    config = SandboxConfig(
        client_id="reliability-app",
        client_secret=SECRET,
        reseller_key=RESELLER_KEY,  # in the credentials secret: lost creation answers are looked up
        queued_seconds=2.0,
        clone_seconds=60.0,
    )
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
