"""Where a clone spent its time, read from its execution's history.

Every state the execution entered becomes a step (``step``, ``phase``, ``enteredAt``,
``leftAt``, ``seconds``, ``outcome``), and the steps' seconds add up by phase: the wait for a
slot, the waits for Ecwid's request budget, the store's creation, Ecwid's queue, the clone in
progress, the mapping's write, the steps after the clone, the events. Choice states take no
time and are left out. Read, not recorded on the way: the history already has every moment,
at no cost while nobody asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ecwid_cloner.data.job import iso_utc
from ecwid_cloner.data.outcome_events import CLONE_FAILED, event_for
from ecwid_cloner.models import JobStatus

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient
    from mypy_boto3_stepfunctions.type_defs import HistoryEventTypeDef

PHASES = (
    "slotWait",
    "budgetWait",
    "storeCreation",
    "ecwidQueued",
    "ecwidInProgress",
    "mapping",
    "profile",
    "instantSite",
    "events",
    "other",
)
_FIXED_PHASES = {
    "AcquireSlot": "slotWait",
    "WaitForSlot": "slotWait",
    "CreateStore": "storeCreation",
    "StartClone": "ecwidQueued",
    "PersonalizeStore": "profile",
    "RecordProfileFailure": "profile",
    "CloneInstantSite": "instantSite",
    "RecordInstantSiteFailure": "instantSite",
}
_SKIPPED_TYPES = ("ChoiceStateEntered", "ChoiceStateExited")


class ExecutionNotFound(Exception):
    pass


def history_events(stepfunctions: SFNClient, execution_arn: str) -> Iterator[HistoryEventTypeDef]:
    """Every event of an execution's history, page by page (a long clone has hundreds)."""
    token = None
    while True:
        try:
            page = stepfunctions.get_execution_history(
                executionArn=execution_arn,
                maxResults=1000,
                **(cast(dict[str, Any], {"nextToken": token}) if token else {}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
                raise ExecutionNotFound(execution_arn) from None
            raise
        yield from page["events"]
        token = page.get("nextToken")
        if not token:
            return


def timeline(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The steps and the seconds by phase, from an execution's history events in order."""
    steps: list[dict[str, Any]] = []
    open_step: dict[str, Any] | None = None
    failures: list[str] = []
    started = ended = None
    execution_status = "RUNNING"
    last_output: dict[str, Any] = {}
    sent: list[dict[str, Any]] = []
    event_id: str | None = None
    for event in events:
        kind, moment = event["type"], _moment(event["timestamp"])
        if kind == "ExecutionStarted":
            started = moment
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            ended, execution_status = moment, kind.removeprefix("Execution").upper()
        elif kind.endswith("StateEntered") and kind not in _SKIPPED_TYPES:
            entered = event["stateEnteredEventDetails"]
            open_step = {
                "step": entered["name"],
                "enteredAt": moment,
                "_input": _json(entered.get("input")),
                "_previous": last_output,
            }
            failures, event_id = [], None
        elif kind == "TaskSucceeded":
            answer = _json(event.get("taskSucceededEventDetails", {}).get("output"))
            event_id = next(
                (entry.get("EventId") for entry in answer.get("Entries") or [] if entry.get("EventId")), None
            )
        elif kind.endswith("Failed") and kind.startswith(("LambdaFunction", "Task")):
            failed: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            failures.append(str(failed.get("error") or "error"))
        elif kind.endswith("StateExited") and kind not in _SKIPPED_TYPES and open_step is not None:
            output = _json(event["stateExitedEventDetails"].get("output"))
            steps.append(_step(open_step, moment, output, failures))
            if open_step["step"].startswith("Publish"):
                sent.append(_sent(open_step["_input"].get("event") or {}, moment, event_id, failures))
            last_output, open_step = output, None
    if open_step is not None:  # running now
        steps.append(_step(open_step, None, {}, failures))
    phases = dict.fromkeys(PHASES, 0.0)
    for step in steps:
        phases[step["phase"]] += step["seconds"] or 0.0
    return {
        "status": execution_status,
        "startedAt": iso_utc(started) if started else None,
        "endedAt": iso_utc(ended) if ended else None,
        "seconds": round(((ended or datetime.now(started.tzinfo)) - started).total_seconds(), 3) if started else None,
        "phases": {name: round(seconds, 3) for name, seconds in phases.items()},
        "steps": steps,
        "events": sent,
    }


def cancel_event(job: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Clone Failed an operator's cancel published itself, outside the state machine (the
    job says when, and keeps the error when it could not be published)."""
    cancelled_at = job.get("cancelledAt")
    if job.get("status") != JobStatus.CANCELLED or not cancelled_at:
        return None
    failed = [
        failure
        for failure in job.get("eventFailures") or []
        if failure.get("detailType") == CLONE_FAILED and str(failure.get("at") or "") >= cancelled_at
    ]
    return {
        "detailType": CLONE_FAILED,
        "at": cancelled_at,
        "outcome": f"not published ({failed[-1].get('error')})" if failed else "published",
        "eventId": None,  # EventBridge's ID is not kept on the job
        "detail": event_for(job, CLONE_FAILED)["detail"],
        "sentBy": "cancel",
    }


def _sent(event: dict[str, Any], moment: datetime, event_id: str | None, failures: list[str]) -> dict[str, Any]:
    """An outcome event as the state machine sent it (a Publish step's input) and how it went."""
    return {
        "detailType": event.get("detailType"),
        "at": iso_utc(moment),
        "outcome": "published" if event_id else f"not published ({failures[-1] if failures else 'no event ID'})",
        "eventId": event_id,
        "detail": event.get("detail") or {},
        "sentBy": "state machine",
    }


def _step(opened: dict[str, Any], left: datetime | None, output: dict[str, Any], failures: list[str]) -> dict[str, Any]:
    name, entered = opened["step"], opened["enteredAt"]
    return {
        "step": name,
        "phase": _phase(name, opened["_input"], opened["_previous"], output),
        "enteredAt": iso_utc(entered),
        "leftAt": iso_utc(left) if left else None,
        "seconds": round((left - entered).total_seconds(), 3) if left else None,
        "outcome": _outcome(name, output, failures, left is None),
    }


def _phase(name: str, entered_with: dict[str, Any], previous: dict[str, Any], output: dict[str, Any]) -> str:
    if name in _FIXED_PHASES:
        return _FIXED_PHASES[name]
    if name.startswith("WaitForBudget"):
        return "budgetWait"
    if name.startswith(("Publish", "Describe")) or name.endswith("EventFailure"):
        return "events"
    if name == "WaitForClone":
        # (An execution from before every booking was kept in $.budget: in its poll.)
        if previous.get("budget") or (previous.get("poll") or {}).get("budget"):
            return "budgetWait"  # the poll was told to wait its turn, not for Ecwid
        return "ecwidInProgress" if entered_with.get("status") == JobStatus.IN_PROGRESS else "ecwidQueued"
    if name == "CheckCloneStatus":
        if output.get("status") == JobStatus.COMPLETED:
            return "mapping"  # the poll that saw COMPLETED wrote the mapping
        return "ecwidInProgress" if entered_with.get("status") == JobStatus.IN_PROGRESS else "ecwidQueued"
    return "other"


def _outcome(name: str, output: dict[str, Any], failures: list[str], running: bool) -> str:
    parts = []
    if running:
        parts.append("running")
    elif (slot := output.get("slot")) and name == "AcquireSlot":
        parts.append("slot held" if slot.get("held") else f"no slot: place {slot.get('place')}")
    elif budget := output.get("budget"):
        parts.append(f"waits {budget.get('waitSeconds')} s for the Ecwid budget")
    elif name in ("PersonalizeStore", "RecordProfileFailure") and output.get("profile"):
        parts.append(f"profile {output['profile'].get('status')}")
    elif name in ("CloneInstantSite", "RecordInstantSiteFailure") and output.get("instantSite"):
        parts.append(f"Instant Site {output['instantSite'].get('status')}")
    elif failure := output.get("failure"):
        parts.append(f"{failure.get('errorCode')}")
    elif name.startswith("Publish"):
        parts.append("published")
    elif name.startswith("Wait"):
        parts.append("waited")
    elif status := output.get("status"):
        parts.append(str(status))
    else:
        parts.append("done")
    if failures:
        parts.append(f"after {len(failures)} failed attempt{'s' if len(failures) > 1 else ''} ({failures[-1]})")
    return ", ".join(parts)


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
