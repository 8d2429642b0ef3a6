"""RecordFailure: an error the state machine caught, recorded on the job."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ecwid_cloner.data.job import Job, iso_utc
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.errors import ErrorCode
from ecwid_cloner.models import CloneRequest, JobStatus, StepStatus
from ecwid_cloner.state import CloneState, Failure, InstantSiteOutcome, StepOutcome


@dataclass(frozen=True)
class CloneFailed:
    """The clone failed: its job FAILED, the state for the Fail state (``$.failure``)."""

    clone_id: str
    failure: Failure
    state: CloneState | None  # None: an execution started by hand with a request that cannot be read

    def to_state(self) -> dict[str, Any]:
        if self.state is None:
            return {"cloneId": self.clone_id, "status": JobStatus.FAILED, "failure": self.failure.to_state()}
        return self.state.to_state()


@dataclass(frozen=True)
class _StepAfterCloneFailed:
    """A step after a COMPLETED clone failed: the clone stands (the job stays COMPLETED)."""

    state: CloneState  # the clone's state, with the step's outcome

    def to_state(self) -> dict[str, Any]:
        return self.state.to_state()


@dataclass(frozen=True)
class ProfileFailed(_StepAfterCloneFailed):
    """PersonalizeStore failed: the profile step FAILED."""

    outcome: StepOutcome  # the state's profile


@dataclass(frozen=True)
class InstantSiteFailed(_StepAfterCloneFailed):
    """CloneInstantSite failed: the Instant Site step FAILED."""

    outcome: InstantSiteOutcome  # the state's instantSite


@dataclass(frozen=True)
class EventNotPublished:
    """An outcome event that did not go out: kept on the job; the outcome stands."""

    clone_id: str
    detail_type: str
    error_code: str

    def to_state(self) -> dict[str, Any]:
        return {"cloneId": self.clone_id, "eventNotPublished": self.detail()}

    def detail(self) -> dict[str, str]:
        return {"detailType": self.detail_type, "errorCode": self.error_code}


# What RecordFailure made of a caught error; each hands the state machine its own JSON (to_state).
RecordedFailure = CloneFailed | ProfileFailed | InstantSiteFailed | EventNotPublished


@dataclass
class RecordFailure:
    """Record an error the state machine caught; returns what it recorded, for the Fail state."""

    jobs: JobsRepository
    clock: Callable[[], float] = time.time

    def __call__(self, caught: dict[str, Any]) -> RecordedFailure:
        # The Catch result sits beside the state ("error"), with what failed ("failedStep").
        code, message = describe_caught_error(caught.get("error") or {})
        if caught.get("failedStep") == "EVENTS":
            # The outcome stands; only its event did not go out. Kept on the job for operators.
            detail_type = str(caught.get("detailType") or "")
            self.jobs.record_event_failure(caught["cloneId"], detail_type, f"{code}: {message}")
            return EventNotPublished(caught["cloneId"], detail_type, code)
        if caught.get("failedStep") == "INSTANT_SITE":
            return self._instant_site_failed(CloneState.from_state(caught), Failure(code, message))
        if caught.get("failedStep") == "PROFILE":
            return self._profile_failed(CloneState.from_state(caught), Failure(code, message))
        clone_id = caught["cloneId"]
        failed = {"errorCode": code, "errorMessage": message, "finishedAt": iso_utc(self.clock())}
        if not self.jobs.advance(clone_id, JobStatus.FAILED, **failed) and self.jobs.get(clone_id) is None:
            # Failed before the intent was written: keep a record all the same.
            self.jobs.record_intent(clone_id, CloneRequest.from_state(caught["request"]))
            self.jobs.advance(clone_id, JobStatus.FAILED, **failed)
        failure = Failure(code, message)
        try:
            state = CloneState.from_state(caught)
        except (KeyError, TypeError, ValueError):
            # An execution started by hand with a request we cannot read: its failure is recorded all the same.
            return CloneFailed(clone_id, failure, None)
        return CloneFailed(clone_id, failure, replace(state.carried(), status=JobStatus.FAILED, failure=failure))

    def _instant_site_failed(self, state: CloneState, error: Failure) -> InstantSiteFailed:
        """The store clone stands: the job stays COMPLETED, with the Instant Site step FAILED."""
        outcome = InstantSiteOutcome(StepStatus.FAILED, bool(state.request.instant_site_draft), error=error)
        self.jobs.set_instant_site(state.clone_id, outcome.to_state())
        stands = replace(state.carried(), status=JobStatus.COMPLETED, result=state.result, instant_site=outcome)
        return InstantSiteFailed(stands, outcome)

    def _profile_failed(self, state: CloneState, error: Failure) -> ProfileFailed:
        """The store clone stands: the job stays COMPLETED, with the profile step FAILED."""
        outcome = StepOutcome(StepStatus.FAILED, error=error)
        self.jobs.set_profile(state.clone_id, outcome.to_state())
        return ProfileFailed(
            replace(state.carried(), status=JobStatus.COMPLETED, result=state.result, profile=outcome), outcome
        )


def unrecorded_failure(clone_id: str, failure: Failure | None) -> Job:
    """The job of a clone that failed before its job was written, where RecordFailure could not
    write one either: FAILED, with the failure when the state carried it (for its Clone Failed event)."""
    return Job({"cloneId": clone_id, "status": JobStatus.FAILED, **(failure.to_state() if failure is not None else {})})


def describe_caught_error(error: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of a Step Functions Catch result {"Error", "Cause"}.

    Our own errors carry "CODE: message" as the Lambda's errorMessage; anything
    else (a bug, a Lambda timeout) is recorded under its error name.
    """
    name = str(error.get("Error") or ErrorCode.UNKNOWN_ERROR)
    cause = error.get("Cause") or ""
    try:
        cause_message = str(json.loads(cause).get("errorMessage", ""))
    except (ValueError, AttributeError):
        cause_message = str(cause)
    code, separator, message = cause_message.partition(": ")
    if separator and code.isupper() and code.replace("_", "").isalnum():
        return code, message[:1000]
    return name, (cause_message or name)[:1000]
