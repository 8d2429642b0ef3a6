"""The state machine's executions on moto: start one, follow it, read its history."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3

RUNNING = ("RUNNING",)


def _sfn() -> Any:
    # Untyped on purpose: the histories and executions are handled as plain JSON here.
    return boto3.client("stepfunctions")


class Executions:
    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def start(self, clone_id: str, request: dict[str, Any]) -> str:
        """An execution named after the clone, with the input the entry points give; its ARN."""
        return _sfn().start_execution(
            stateMachineArn=self.state_machine_arn,
            name=clone_id,
            input=json.dumps({"cloneId": clone_id, "request": request}),
        )["executionArn"]

    def arn(self, clone_id: str) -> str:
        """The ARN of the execution named ``clone_id``."""
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{clone_id}"

    def wait(
        self,
        execution_arn: str,
        on_event: Callable[[dict], None] | None = None,
        timeout: float = 600,
        interval: float = 0.1,
    ) -> dict[str, Any]:
        """Wait for the execution to end; ``on_event`` sees each history event once."""
        sfn = _sfn()
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            execution = sfn.describe_execution(executionArn=execution_arn)
            if on_event:
                events = self.history(execution_arn)
                for event in events[seen:]:
                    on_event(event)
                seen = len(events)
            if execution["status"] not in RUNNING:
                return execution
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
            time.sleep(interval)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = _sfn()
        events: list[dict[str, Any]] = []
        token = None
        while True:
            page = sfn.get_execution_history(
                executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def list(self) -> list[dict]:
        return _sfn().list_executions(stateMachineArn=self.state_machine_arn, maxResults=1000)["executions"]

    def stop(self, clone_id: str) -> str:
        """Stop a clone's execution as an operator would; its ARN."""
        arn = self.arn(clone_id)
        _sfn().stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
        return arn


class CloneRun:
    """One finished clone on the local stack: its execution, history and job."""

    def __init__(self, clone_id: str, execution: dict, history: list[dict], job: dict[str, Any] | None):
        self.clone_id, self.execution, self.history, self.job = clone_id, execution, history, job

    def events(self, kind: str) -> list[dict]:
        return [event for event in self.history if event["type"] == kind]

    def largest_state_bytes(self) -> int:
        """The largest input or output any state of the execution carried."""
        sizes = [0]
        for event in self.history:
            for details in event.values():
                if isinstance(details, dict):
                    for key in ("input", "output"):
                        if isinstance(details.get(key), str):
                            sizes.append(len(details[key].encode()))
        return max(sizes)
