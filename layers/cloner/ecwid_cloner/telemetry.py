"""The clone metrics, as CloudWatch embedded metric format lines (Powertools).

ClonesStarted, ClonesCompleted, ClonesFailed (dimension ErrorCode),
CloneDurationSeconds and PollsPerClone: each emitted once per clone, by the
step that sees it happen. Each is flushed on its own (single_metric), so a
poll that changes nothing emits nothing.
"""

from __future__ import annotations

import os
import time

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ecwid_cloner.errors import STORE_CREATION_ERROR_CODES
from ecwid_cloner.models import JobStatus
from ecwid_cloner.state import BudgetTurn, CloneState, Failure, InstantSiteOutcome, SlotTicket, StepOutcome


def _emit(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    # Powertools' switch, which single_metric alone does not check (the local stack sets it).
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    # Namespace and the service dimension: Powertools' variables, which template.yaml sets.
    with single_metric(name=name, unit=unit, value=value) as metric:
        if metric.service:  # first, as every metric's first dimension; Powertools would add it last
            metric.add_dimension(name="service", value=metric.service)
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def record_started(state: CloneState) -> None:
    if state.status == JobStatus.QUEUED and state.poll is not None and state.poll.attempt == 0:
        _emit("ClonesStarted", MetricUnit.Count, 1)


def record_outcome(state: CloneState) -> None:
    """Metrics of a state that ended the clone; nothing for one still polling."""
    poll = state.poll
    if state.status == JobStatus.COMPLETED:
        _emit("ClonesCompleted", MetricUnit.Count, 1)
        if poll is not None and poll.started_at:
            _emit("CloneDurationSeconds", MetricUnit.Seconds, round(time.time() - poll.started_at, 1))
        _emit("PollsPerClone", MetricUnit.Count, poll.attempt if poll else 0)
    elif state.failure is not None:
        record_failed(state.failure, poll.attempt if poll else 0)


def record_failed(failure: Failure, polls: int = 0) -> None:
    # By Ecwid error code: a wrong request and an Ecwid outage look different.
    code = (failure.error_code or "UNKNOWN")[:255]
    _emit("ClonesFailed", MetricUnit.Count, 1, ErrorCode=code)
    if code in STORE_CREATION_ERROR_CODES:
        _emit("StoreCreationsFailed", MetricUnit.Count, 1)
    if polls:
        _emit("PollsPerClone", MetricUnit.Count, polls)


def record_store_created(state: CloneState) -> None:
    """StoresCreated; StoreTokensNotSaved when the new store's token could not be kept."""
    _emit("StoresCreated", MetricUnit.Count, 1)
    if state.store is None or not state.store.token_saved:
        _emit("StoreTokensNotSaved", MetricUnit.Count, 1)


def record_event_not_published() -> None:
    """EventsNotPublished: the outcome stands, its event did not go out (the job's eventFailures says which)."""
    _emit("EventsNotPublished", MetricUnit.Count, 1)


def record_budget_wait(turn: BudgetTurn, step: str) -> None:
    """BudgetWaits and BudgetWaitSeconds by Step: how often Ecwid's budget made a step wait, and how long."""
    _emit("BudgetWaits", MetricUnit.Count, 1, Step=step)
    _emit("BudgetWaitSeconds", MetricUnit.Seconds, float(turn.wait_seconds), Step=step)


def record_slot_wait(slot: SlotTicket) -> None:
    """SlotWaits (a refused try) and SlotWaitedSeconds (how long this clone has waited so
    far, on every try and at admission: the slot-wait alarm watches its maximum)."""
    if not slot.held:
        _emit("SlotWaits", MetricUnit.Count, 1)
    if slot.waited_seconds:
        _emit("SlotWaitedSeconds", MetricUnit.Seconds, slot.waited_seconds)


def record_slot_reaped() -> None:
    _emit("SlotsReaped", MetricUnit.Count, 1)


def record_instant_site(outcome: InstantSiteOutcome | None) -> None:
    """InstantSiteClones by Outcome: a failed Instant Site step shows though the clone COMPLETED."""
    if outcome is not None and outcome.status:
        _emit("InstantSiteClones", MetricUnit.Count, 1, Outcome=outcome.status)


def record_profile(outcome: StepOutcome | None) -> None:
    """ProfileUpdates by Outcome: a failed profile step shows though the clone COMPLETED."""
    if outcome is not None and outcome.status:
        _emit("ProfileUpdates", MetricUnit.Count, 1, Outcome=outcome.status)
