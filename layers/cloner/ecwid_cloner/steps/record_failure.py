"""RecordFailure: an error the state machine caught, recorded on the job."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ecwid_cloner.data.jobs import JobsRepository, iso_utc
from ecwid_cloner.models import CloneRequest
from ecwid_cloner.state import CloneState, Failure, InstantSiteOutcome, StepOutcome


@dataclass
class RecordFailure:
    """Record an error the state machine caught; returns the state for the Fail state."""

    jobs: JobsRepository
    clock: Callable[[], float] = time.time

    def __call__(self, caught: dict[str, Any]) -> dict[str, Any]:
        # The Catch result sits beside the state ("error"), with what failed ("failedStep").
        code, message = describe_caught_error(caught.get("error") or {})
        if caught.get("failedStep") == "EVENTS":
            # The outcome stands; only its event did not go out. Kept on the job for operators.
            detail_type = str(caught.get("detailType") or "")
            self.jobs.record_event_failure(caught["cloneId"], detail_type, f"{code}: {message}")
            return {"cloneId": caught["cloneId"], "eventNotPublished": {"detailType": detail_type, "errorCode": code}}
        if caught.get("failedStep") == "INSTANT_SITE":
            return self._instant_site_failed(CloneState.from_state(caught), code, message).to_state()
        if caught.get("failedStep") == "PROFILE":
            return self._profile_failed(CloneState.from_state(caught), code, message).to_state()
        clone_id = caught["cloneId"]
        failed = {"errorCode": code, "errorMessage": message, "finishedAt": iso_utc(self.clock())}
        if not self.jobs.advance(clone_id, "FAILED", **failed) and self.jobs.get(clone_id) is None:
            # Failed before the intent was written: keep a record all the same.
            self.jobs.record_intent(clone_id, CloneRequest.from_state(caught["request"]))
            self.jobs.advance(clone_id, "FAILED", **failed)
        failure = Failure(code, message)
        try:
            return replace(CloneState.from_state(caught).carried(), status="FAILED", failure=failure).to_state()
        except (KeyError, TypeError, ValueError):
            # An execution started by hand with a request we cannot read: its failure is recorded all the same.
            return {"cloneId": clone_id, "status": "FAILED", "failure": failure.to_state()}

    def _instant_site_failed(self, state: CloneState, code: str, message: str) -> CloneState:
        """The store clone stands: the job stays COMPLETED, with the Instant Site step FAILED."""
        outcome = InstantSiteOutcome("FAILED", bool(state.request.instant_site_draft), error=Failure(code, message))
        self.jobs.set_instant_site(state.clone_id, outcome.to_state())
        return replace(state.carried(), status="COMPLETED", result=state.result, instant_site=outcome)

    def _profile_failed(self, state: CloneState, code: str, message: str) -> CloneState:
        """The store clone stands: the job stays COMPLETED, with the profile step FAILED."""
        outcome = StepOutcome("FAILED", error=Failure(code, message))
        self.jobs.set_profile(state.clone_id, outcome.to_state())
        return replace(state.carried(), status="COMPLETED", result=state.result, profile=outcome)


def describe_caught_error(error: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of a Step Functions Catch result {"Error", "Cause"}.

    Our own errors carry "CODE: message" as the Lambda's errorMessage; anything
    else (a bug, a Lambda timeout) is recorded under its error name.
    """
    name = str(error.get("Error") or "UNKNOWN_ERROR")
    cause = error.get("Cause") or ""
    try:
        cause_message = str(json.loads(cause).get("errorMessage", ""))
    except (ValueError, AttributeError):
        cause_message = str(cause)
    code, separator, message = cause_message.partition(": ")
    if separator and code.isupper() and code.replace("_", "").isalnum():
        return code, message[:1000]
    return name, (cause_message or name)[:1000]
