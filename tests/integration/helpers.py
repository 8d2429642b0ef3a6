"""What the integration tests share besides fixtures: running a clone and reading what it left."""

from __future__ import annotations

import json
import threading
import time

from local.stack import CloneRun, LocalStack

# Empty sandbox stores no test names by number (those are in 2001..2300): one each, never twice.
fresh_targets = iter(range(4001, 5001))


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


def wait_until(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


_FAULT_FIELDS = {
    "drop": "drop_rate",
    "5xx": "error_5xx_rate",
    "429": "rate_429",
    "malformed": "malformed_rate",
    "answer_lost": "answer_lost_rate",
}


def fault_until(faults, endpoint: str, kind: str, hits: int) -> None:
    """Every ``endpoint`` request meets the fault ``kind`` ("drop", "5xx", "429", "malformed",
    "answer_lost") until it has been answered so ``hits`` times; then the fault is off again."""
    faulted = faults.endpoint(endpoint)
    setattr(faulted, _FAULT_FIELDS[kind], 1.0)

    def lift() -> None:
        while faults.counts.get(f"{endpoint}.{kind}", 0) < hits:
            time.sleep(0.02)
        setattr(faulted, _FAULT_FIELDS[kind], 0.0)

    threading.Thread(target=lift, daemon=True).start()
