"""The clone's steps, as the state machine's Lambdas run them.

Every step takes the small state the state machine carries and returns the
next one. The state never holds a mapping or a credential: the mapping goes
to DynamoDB, and only its counts travel on.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.config import DEFAULTS
from ecwid_cloner.errors import (
    CloneError,
    EcwidRateLimitedError,
    EcwidRetryableError,
    EcwidTerminalError,
    TargetBusyError,
)
from ecwid_cloner.jobs import FINAL_STATUSES, JobsRepository, is_same_clone, iso_utc
from ecwid_cloner.mappings import MappingStore
from ecwid_cloner.models import CloneRequest
from ecwid_cloner.polling import DEFAULT_POLICY, PollingPolicy, expected_duration, scaled_wait_seconds
from ecwid_cloner.request_budget import BudgetTurn, BudgetWait, Priority, RequestGate, step_budget, waiting

if TYPE_CHECKING:  # requests: loaded with the first HTTP client, not by every step
    from ecwid_cloner.ecwid_client import EcwidCloneClient
    from ecwid_cloner.instant_site import InstantSiteClient

TIMED_OUT_CODE = "CLONE_TIMED_OUT"
FAILED_TICKET_CODE = "CLONE_FAILED"
CLONE_ANSWER_LOST_CODE = "CLONE_ANSWER_LOST"
TARGET_NOT_EMPTY_CODES = frozenset(
    {"TARGET_PRODUCTS_NOT_EMPTY", "TARGET_CATEGORIES_NOT_EMPTY", "TARGET_PRODUCT_TYPES_NOT_EMPTY"}
)


@dataclass
class CloneSteps:
    client_factory: Callable[[], EcwidCloneClient]  # lazy: the secret is read only when Ecwid is called
    jobs: JobsRepository
    mappings: MappingStore
    poll_scale: float = 1.0
    deadline_seconds: float = DEFAULTS["deadline_seconds"]
    policy: PollingPolicy = DEFAULT_POLICY
    clock: Callable[[], float] = field(default=time.time)
    instant_site_factory: Callable[[], InstantSiteClient] | None = None
    store_secret_token: Callable[[int], str] | None = None  # store ID -> its secret_token
    gate: RequestGate = field(default_factory=lambda: RequestGate(None))  # the shared Ecwid request budget

    # -- StartClone -----------------------------------------------------------------

    def start(self, state: dict[str, Any]) -> dict[str, Any]:
        clone_id = state["cloneId"]
        request = CloneRequest.from_state(state["request"])
        # Intent first: if this Lambda dies after Ecwid accepted the clone, the
        # retry finds the job and adopts the running ticket instead of failing.
        job, _ = self.jobs.record_intent(clone_id, request)
        if job["status"] in FINAL_STATUSES:
            return self._final_state(state, job)

        # Before the POST: a failing history query must never fail a clone Ecwid accepted.
        expected = self._expected_seconds(request)
        now = self.clock()
        ticket = job.get("ticket")
        if not ticket:
            turn = BudgetTurn.from_state(state.get("budget"))
            try:
                with step_budget(turn):
                    # The token first: a step told to wait must not have counted a POST.
                    self.gate.hold(Priority.NEW)
                    ticket = self._post(clone_id, request)
            except BudgetWait as wait:
                return {"cloneId": clone_id, "request": request.to_state(), "budget": waiting(wait, turn, self.gate)}
        started_at = float(job.get("startedAtEpoch") or now)
        deadline_at = started_at + self.deadline_seconds * self.poll_scale
        self.jobs.advance(
            clone_id,
            "QUEUED",
            ticket=ticket,
            startedAt=iso_utc(started_at),
            startedAtEpoch=_decimal_seconds(started_at),
        )
        return {
            "cloneId": clone_id,
            "request": request.to_state(),
            "ticket": ticket,
            "status": "QUEUED",
            "poll": {
                "attempt": 0,
                "startedAt": started_at,
                "deadlineAt": deadline_at,
                "transientErrors": 0,
                "expectedSeconds": expected,
                "waitSeconds": self._wait(0, now - started_at, deadline_at - now, expected),
            },
        }

    def _post(self, clone_id: str, request: CloneRequest) -> str:
        """POST the clone (counted first); the ticket, or the running one that is ours."""
        earlier_posts = self.jobs.begin_post(clone_id)
        try:
            return self.client_factory().start_clone(request)
        except TargetBusyError as busy:
            ticket = self._adoptable_ticket(busy, request, earlier_posts=earlier_posts)
            if ticket is None:
                raise
            return ticket
        except EcwidTerminalError as refused:
            if earlier_posts and refused.code in TARGET_NOT_EMPTY_CODES:
                # An earlier POST of this clone went unanswered, and the target is
                # full now: most likely of that very clone, finished before this
                # retry. Its ticket, and so its mapping, is lost: say so.
                raise EcwidTerminalError(
                    CLONE_ANSWER_LOST_CODE,
                    f"Ecwid says {refused.message!r} after an earlier POST of this clone went unanswered: "
                    "the target was most likely filled by that clone, whose ticket and mapping are lost",
                    refused.http_status,
                ) from None
            raise

    def _adoptable_ticket(self, busy: TargetBusyError, request: CloneRequest, earlier_posts: int) -> str | None:
        """The running ticket to follow, or None when it is somebody else's clone."""
        if not busy.running_ticket:
            return None
        owner = self.jobs.find_by_ticket(busy.running_ticket)
        if owner is not None:
            # A clone we know: follow it only when it is the same clone (source and scope).
            return busy.running_ticket if is_same_clone(owner, request) else None
        # Unknown to us: ours only if an earlier attempt of this clone got as far as POST.
        return busy.running_ticket if earlier_posts else None

    # -- CheckCloneStatus -----------------------------------------------------------

    def check(self, state: dict[str, Any]) -> dict[str, Any]:
        clone_id, ticket, poll = state["cloneId"], state["ticket"], dict(state["poll"])
        request = CloneRequest.from_state(state["request"])
        turn = BudgetTurn.from_state(poll.pop("budget", None))
        try:
            with step_budget(turn):
                answer = self.client_factory().get_status(ticket)
        except BudgetWait as wait:
            # Not a poll yet: the running clone waits its turn, bounded by its deadline.
            return self._wait_for_budget(state, poll, waiting(wait, turn, self.gate))
        except EcwidRetryableError as exc:
            poll["attempt"] = int(poll["attempt"]) + 1
            # A failed poll is not a failed clone: the next poll is the retry.
            # Only the deadline (or a terminal answer) ends the clone.
            poll["transientErrors"] = int(poll.get("transientErrors", 0)) + 1
            poll["lastError"] = exc.code
            min_wait = exc.retry_after if isinstance(exc, EcwidRateLimitedError) else None
            return self._keep_polling(state, poll, state["status"], min_wait)

        poll["attempt"] = int(poll["attempt"]) + 1
        seen_at = self.clock()
        poll.pop("lastError", None)
        if answer.status == "COMPLETED":
            counts = self.mappings.write(
                clone_id,
                request.target_store_id,
                {"products": answer.products, "categories": answer.categories},
            )
            finished = self.clock()
            self.jobs.advance(
                clone_id,
                "COMPLETED",
                products=counts["products"],
                categories=counts["categories"],
                polls=poll["attempt"],
                finishedAt=iso_utc(finished),
                durationSeconds=_decimal_seconds(finished - float(poll["startedAt"])),
                # What the next clone of this template learns from: Ecwid's time, without our writes.
                cloneSeconds=_decimal_seconds(seen_at - float(poll["startedAt"])),
            )
            return {**_small(state), "status": "COMPLETED", "poll": poll, "result": counts}
        if answer.status == "FAILED":
            message = answer.error_message or "Ecwid reported the clone FAILED"
            return self._fail(state, poll, "FAILED", FAILED_TICKET_CODE, message)
        if answer.status != state["status"]:
            self.jobs.advance(clone_id, answer.status, polls=poll["attempt"])
        return self._keep_polling(state, poll, answer.status)

    def _keep_polling(
        self, state: dict[str, Any], poll: dict[str, Any], status: str, min_wait: float | None = None
    ) -> dict[str, Any]:
        now = self.clock()
        remaining = float(poll["deadlineAt"]) - now
        if remaining <= 0:
            seconds = self.deadline_seconds
            message = f"Ticket {state['ticket']} did not finish within {seconds:.0f} s"
            return self._fail(state, poll, "TIMED_OUT", TIMED_OUT_CODE, message)
        wait = self._wait(poll["attempt"], now - float(poll["startedAt"]), remaining)
        if min_wait is not None:
            # Honour Retry-After, but never sleep past the deadline check.
            wait = max(wait, min(math.ceil(min_wait), math.ceil(remaining)))
        poll["waitSeconds"] = wait
        return {**_small(state), "status": status, "poll": poll}

    def _wait_for_budget(self, state: dict[str, Any], poll: dict[str, Any], budget: dict[str, Any]) -> dict[str, Any]:
        remaining = float(poll["deadlineAt"]) - self.clock()
        if remaining <= 0:
            return self._keep_polling(state, poll, state["status"])  # records TIMED_OUT
        poll["budget"] = {key: value for key, value in budget.items() if key != "waitSeconds"}
        poll["waitSeconds"] = max(1, min(int(budget["waitSeconds"]), math.ceil(remaining)))
        return {**_small(state), "status": state["status"], "poll": poll}

    def _fail(self, state, poll, status: str, code: str, message: str) -> dict[str, Any]:
        self.jobs.advance(
            state["cloneId"],
            status,
            errorCode=code,
            errorMessage=message,
            polls=poll["attempt"],
            finishedAt=iso_utc(self.clock()),
        )
        return {
            **_small(state),
            "status": status,
            "poll": poll,
            "failure": {"errorCode": code, "errorMessage": message},
        }

    def _wait(self, attempt: int, real_elapsed: float, remaining: float, expected: float | None = None) -> int:
        virtual_elapsed = real_elapsed / self.poll_scale
        virtual_wait = self.policy.next_wait(attempt, virtual_elapsed, expected)
        return scaled_wait_seconds(virtual_wait, self.poll_scale, remaining)

    def _expected_seconds(self, request: CloneRequest) -> float | None:
        """When this template's clones usually finish (in the policy's seconds), from the jobs table."""
        try:
            durations = self.jobs.recent_durations(request.source_store_id, request.scope)
        except (ClientError, BotoCoreError):
            return None  # no history is no harm: the plain policy
        expected = expected_duration(duration / self.poll_scale for duration in durations)
        return round(expected, 1) if expected is not None else None

    # -- CloneInstantSite -------------------------------------------------------------

    def clone_instant_site(self, state: dict[str, Any]) -> dict[str, Any]:
        """After a COMPLETED store clone: copy the source's Instant Site to the target."""
        request = CloneRequest.from_state(state["request"])
        client = self.instant_site_factory()
        secret_token = self.store_secret_token(request.target)
        turn = BudgetTurn.from_state(state.get("budget"))
        try:
            with step_budget(turn, requests=2):  # the token and the clone, booked together
                token = client.access_token(request.target, secret_token)
                client.clone(request.target, request.source_store_id, bool(request.instant_site_draft), token)
        except BudgetWait as wait:
            return {
                **_small(state),
                "status": "COMPLETED",
                "result": state.get("result"),
                "budget": waiting(wait, turn, self.gate),
            }
        outcome = {"status": "COMPLETED", "draft": bool(request.instant_site_draft)}
        self.jobs.set_instant_site(state["cloneId"], outcome)
        return {**_small(state), "status": "COMPLETED", "result": state.get("result"), "instantSite": outcome}

    def _record_instant_site_failure(self, state: dict[str, Any], code: str, message: str) -> dict[str, Any]:
        """The store clone stands: the job stays COMPLETED, with the Instant Site step FAILED."""
        request = CloneRequest.from_state(state["request"])
        outcome = {
            "status": "FAILED",
            "draft": bool(request.instant_site_draft),
            "error": {"errorCode": code, "errorMessage": message},
        }
        self.jobs.set_instant_site(state["cloneId"], outcome)
        return {**_small(state), "status": "COMPLETED", "result": state.get("result"), "instantSite": outcome}

    # -- RecordFailure --------------------------------------------------------------

    def record_failure(self, state: dict[str, Any]) -> dict[str, Any]:
        """Record an error the state machine caught; returns the state for the Fail state."""
        code, message = describe_caught_error(state.get("error") or {})
        if state.get("failedStep") == "EVENTS":
            # The outcome stands; only its event did not go out. Kept on the job for operators.
            detail_type = str(state.get("detailType") or "")
            self.jobs.record_event_failure(state["cloneId"], detail_type, f"{code}: {message}")
            return {"cloneId": state["cloneId"], "eventNotPublished": {"detailType": detail_type, "errorCode": code}}
        if state.get("failedStep") == "INSTANT_SITE":
            return self._record_instant_site_failure(state, code, message)
        clone_id = state["cloneId"]
        failed = {"errorCode": code, "errorMessage": message, "finishedAt": iso_utc(self.clock())}
        if not self.jobs.advance(clone_id, "FAILED", **failed) and self.jobs.get(clone_id) is None:
            # Failed before the intent was written: keep a record all the same.
            self.jobs.record_intent(clone_id, CloneRequest.from_state(state["request"]))
            self.jobs.advance(clone_id, "FAILED", **failed)
        return {**_small(state), "status": "FAILED", "failure": {"errorCode": code, "errorMessage": message}}

    def _final_state(self, state: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
        """A re-run of a finished clone: report what the job already says."""
        out = {**_small(state), "ticket": job.get("ticket"), "status": job["status"]}
        if job["status"] == "COMPLETED":
            out["result"] = {"products": int(job.get("products", 0)), "categories": int(job.get("categories", 0))}
        else:
            out["failure"] = {"errorCode": job.get("errorCode"), "errorMessage": job.get("errorMessage")}
        return out


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


def _small(state: dict[str, Any]) -> dict[str, Any]:
    """The fields every state carries forward (never a mapping, never an error blob)."""
    return {key: state[key] for key in ("cloneId", "request", "ticket") if key in state}


def _decimal_seconds(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))


__all__ = ["CloneSteps", "CloneError", "describe_caught_error"]
