"""The clone's steps, as the state machine's Lambdas run them: StartClone,
CheckCloneStatus, CloneInstantSite and RecordFailure.

Every step takes the typed state the state machine carries (clone_state) and
returns the next one, and is built with only what it uses.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.config import DEFAULTS
from ecwid_cloner.data.jobs import Job, JobsRepository, iso_utc
from ecwid_cloner.data.mappings import MappingStore
from ecwid_cloner.ecwid.budget import BudgetTurn, BudgetWait, Priority, RequestGate, step_budget, waiting
from ecwid_cloner.errors import (
    CloneError,
    EcwidRateLimitedError,
    EcwidRetryableError,
    EcwidTerminalError,
    TargetBusyError,
)
from ecwid_cloner.models import CloneRequest, StoreProfile
from ecwid_cloner.polling import (
    BACKLOG_HISTORY_SIZE,
    DEFAULT_POLICY,
    PollingPolicy,
    RecentDurations,
    expected_duration,
    learned_duration,
    scaled_wait_seconds,
)
from ecwid_cloner.state import CloneState, Poll

if TYPE_CHECKING:  # requests: loaded with the first HTTP client, not by every step
    from ecwid_cloner.ecwid.clone_api import EcwidCloneClient
    from ecwid_cloner.ecwid.instant_site import InstantSiteClient
    from ecwid_cloner.ecwid.store_profile import EcwidStoreProfileClient

TIMED_OUT_CODE = "CLONE_TIMED_OUT"
FAILED_TICKET_CODE = "CLONE_FAILED"
CLONE_ANSWER_LOST_CODE = "CLONE_ANSWER_LOST"
TARGET_NOT_EMPTY_CODES = frozenset(
    {"TARGET_PRODUCTS_NOT_EMPTY", "TARGET_CATEGORIES_NOT_EMPTY", "TARGET_PRODUCT_TYPES_NOT_EMPTY"}
)


@dataclass(frozen=True)
class PollTiming:
    """When to poll next, in real seconds; ``poll_scale`` < 1 shrinks every wait (the local stack)."""

    poll_scale: float = 1.0
    deadline_seconds: float = DEFAULTS["deadline_seconds"]
    policy: PollingPolicy = DEFAULT_POLICY
    clock: Callable[[], float] = time.time

    def wait(
        self,
        attempt: int,
        real_elapsed: float,
        remaining: float,
        expected: float | None = None,
        *,
        backlog: float = 0.0,
        durations: RecentDurations | None = None,
    ) -> int:
        """The next wait; ``backlog``: the real seconds the request budget's schedule ran ahead."""
        virtual_elapsed = real_elapsed / self.poll_scale
        virtual_wait = self.policy.next_wait(
            attempt, virtual_elapsed, expected, backlog=backlog / self.poll_scale, durations=durations
        )
        return scaled_wait_seconds(virtual_wait, self.poll_scale, remaining)

    def under_backlog(self, backlog: float) -> bool:
        return self.policy.under_backlog(backlog / self.poll_scale)

    def plan(
        self,
        attempt: int,
        started_at: float,
        now: float,
        remaining: float,
        backlog: float,
        expected: float | None = None,
        durations: RecentDurations | None = None,
        min_wait: float | None = None,
    ) -> tuple[int, float | None]:
        """(the Wait state's seconds, the epoch of the Ecwid poll when the backlog planned it, else None).

        A wait the backlog set is cut into hops (``check``); ``min_wait``: Ecwid's Retry-After.
        """
        wait = self.wait(attempt, now - started_at, remaining, expected, backlog=backlog, durations=durations)
        if min_wait is not None:
            # Honour Retry-After, but never sleep past the deadline check.
            wait = max(wait, min(math.ceil(min_wait), math.ceil(remaining)))
        if not self.under_backlog(backlog):
            return wait, None
        return min(wait, self._hop()), now + wait

    def check(self, poll_at: float, now: float, backlog: float) -> int | None:
        """At a hop before the planned poll: the next hop while the backlog lasts, else None (poll now)."""
        left = poll_at - now
        if left < 1 or not self.under_backlog(backlog):
            return None
        return min(math.ceil(left), self._hop())

    def _hop(self) -> int:
        return max(1, math.floor(self.policy.backlog_hop * self.poll_scale))


def _open_gate() -> RequestGate:
    return RequestGate(None)


@dataclass
class StartClone:
    client_factory: Callable[[], EcwidCloneClient]  # lazy: the secret is read only when Ecwid is called
    jobs: JobsRepository
    timing: PollTiming = field(default_factory=PollTiming)
    gate: RequestGate = field(default_factory=_open_gate)  # the shared Ecwid request budget

    def __call__(self, state: CloneState) -> CloneState:
        clone_id, request = state.clone_id, state.request
        # Intent first: if this Lambda dies after Ecwid accepted the clone, the
        # retry finds the job and adopts the running ticket instead of failing.
        job, _ = self.jobs.record_intent(clone_id, request)
        if job.finished:
            return _final_state(state, job)

        # Before the POST: a failing history query must never fail a clone Ecwid accepted.
        expected, durations = self._history(request)
        now = self.timing.clock()
        ticket = job.ticket
        backlog = 0.0
        if not ticket:
            turn = BudgetTurn.from_state(state.budget)
            try:
                with step_budget(turn) as budget:
                    # The token first: a step told to wait must not have counted a POST.
                    self.gate.hold(Priority.NEW)
                    ticket = self._post(clone_id, request)
            except BudgetWait as wait:
                return CloneState(clone_id, request, budget=waiting(wait, turn, self.gate))
            backlog = budget.backlog
        started_at = job.started_at_epoch or now
        deadline_at = started_at + self.timing.deadline_seconds * self.timing.poll_scale
        self.jobs.advance(
            clone_id,
            "QUEUED",
            ticket=ticket,
            startedAt=iso_utc(started_at),
            startedAtEpoch=_decimal_seconds(started_at),
        )
        first_wait, poll_at = self.timing.plan(0, started_at, now, deadline_at - now, backlog, expected, durations)
        poll = Poll(
            attempt=0,
            started_at=started_at,
            deadline_at=deadline_at,
            expected_seconds=expected,
            wait_seconds=first_wait,
            durations=durations,
            poll_at=poll_at,
            backlog_polls=int(poll_at is not None),
            backlog_wait=poll_at is not None,
        )
        return CloneState(clone_id, request, ticket=ticket, status="QUEUED", poll=poll)

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
            return busy.running_ticket if owner.is_same_clone(request) else None
        # Unknown to us: ours only if an earlier attempt of this clone got as far as POST.
        return busy.running_ticket if earlier_posts else None

    def _history(self, request: CloneRequest) -> tuple[float | None, RecentDurations | None]:
        """From the jobs table, in the policy's seconds: when this template's clones usually
        finish (quiet-time polling), and their recent durations (polling under a backlog)."""
        try:
            recent = self.jobs.recent_durations(request.source_store_id, request.scope, BACKLOG_HISTORY_SIZE)
        except (ClientError, BotoCoreError):
            return None, None  # no history is no harm: the plain policy
        seconds = [duration / self.timing.poll_scale for duration in recent]
        expected = expected_duration(seconds)
        return (round(expected, 1) if expected is not None else None), RecentDurations.of(seconds)


@dataclass
class CheckCloneStatus:
    client_factory: Callable[[], EcwidCloneClient]
    jobs: JobsRepository
    mappings: MappingStore
    timing: PollTiming = field(default_factory=PollTiming)
    gate: RequestGate = field(default_factory=_open_gate)

    def __call__(self, state: CloneState) -> CloneState:
        assert state.ticket is not None and state.poll is not None, "CheckCloneStatus follows StartClone"
        clone_id, ticket = state.clone_id, state.ticket
        if state.poll.poll_at is not None and state.poll.budget is None:
            hop = self.timing.check(state.poll.poll_at, self.timing.clock(), self._backlog())
            if hop is not None:  # the backlog lasts: wait on, no Ecwid request
                return replace(state.carried(), status=state.status, poll=replace(state.poll, wait_seconds=hop))
        turn = BudgetTurn.from_state(state.poll.budget)
        poll = replace(state.poll, budget=None, poll_at=None)
        try:
            with step_budget(turn) as budget:
                answer = self.client_factory().get_status(ticket)
        except BudgetWait as wait:
            # Not a poll yet: the running clone waits its turn, bounded by its deadline.
            return self._wait_for_budget(state, poll, waiting(wait, turn, self.gate))
        except EcwidRetryableError as exc:
            # A failed poll is not a failed clone: the next poll is the retry.
            # Only the deadline (or a terminal answer) ends the clone.
            poll = replace(
                poll, attempt=poll.attempt + 1, transient_errors=poll.transient_errors + 1, last_error=exc.code
            )
            min_wait = exc.retry_after if isinstance(exc, EcwidRateLimitedError) else None
            return self._keep_polling(state, poll, state.status or "QUEUED", budget.backlog, min_wait)

        poll = replace(poll, attempt=poll.attempt + 1, last_error=None)
        seen_at = self.timing.clock()
        if answer.status == "COMPLETED":
            counts = self.mappings.write(
                clone_id,
                state.request.target,
                {"products": answer.products, "categories": answer.categories},
            )
            finished = self.timing.clock()
            self.jobs.advance(
                clone_id,
                "COMPLETED",
                products=counts["products"],
                categories=counts["categories"],
                polls=poll.attempt,
                finishedAt=iso_utc(finished),
                durationSeconds=_decimal_seconds(finished - poll.started_at),
                # What the next clone of this template learns from: Ecwid's time, without our writes.
                cloneSeconds=_decimal_seconds(self._learned_seconds(clone_id, poll, seen_at - poll.started_at)),
                **({"backlogPolls": poll.backlog_polls} if poll.backlog_polls else {}),
            )
            return replace(state.carried(), status="COMPLETED", poll=poll, result=counts)
        if answer.status == "FAILED":
            message = answer.error_message or "Ecwid reported the clone FAILED"
            return self._fail(state, poll, "FAILED", FAILED_TICKET_CODE, message)
        if answer.status != state.status:
            self.jobs.advance(clone_id, answer.status, polls=poll.attempt)
        poll = replace(poll, running_seen=seen_at - poll.started_at)
        return self._keep_polling(state, poll, answer.status, budget.backlog)

    def _keep_polling(
        self, state: CloneState, poll: Poll, status: str, backlog: float, min_wait: float | None = None
    ) -> CloneState:
        now = self.timing.clock()
        remaining = poll.deadline_at - now
        if remaining <= 0:
            message = f"Ticket {state.ticket} did not finish within {self.timing.deadline_seconds:.0f} s"
            return self._fail(state, poll, "TIMED_OUT", TIMED_OUT_CODE, message)
        wait, poll_at = self.timing.plan(
            poll.attempt, poll.started_at, now, remaining, backlog, durations=poll.durations, min_wait=min_wait
        )
        poll = replace(
            poll,
            wait_seconds=wait,
            poll_at=poll_at,
            backlog_polls=poll.backlog_polls + (poll_at is not None),
            backlog_wait=poll_at is not None,
        )
        return replace(state.carried(), status=status, poll=poll)

    def _backlog(self) -> float:
        """The budget's backlog now, for a hop; unreadable: none (the step polls, as it would without a backlog)."""
        try:
            return self.gate.lead()
        except (ClientError, BotoCoreError):
            return 0.0

    def _learned_seconds(self, clone_id: str, poll: Poll, seen: float) -> float:
        """polling.learned_duration in real seconds; its draw is fixed by the clone ID,
        so a retried step records the same."""
        scale = self.timing.poll_scale
        learned = learned_duration(
            seen / scale, poll.running_seen / scale, poll.backlog_wait, poll.durations, clone_draw(clone_id)
        )
        return learned * scale

    def _wait_for_budget(self, state: CloneState, poll: Poll, budget: dict[str, Any]) -> CloneState:
        remaining = poll.deadline_at - self.timing.clock()
        if remaining <= 0:
            return self._keep_polling(state, poll, state.status or "QUEUED", 0.0)  # records TIMED_OUT
        booking = {key: value for key, value in budget.items() if key != "waitSeconds"}
        wait = max(1, min(int(budget["waitSeconds"]), math.ceil(remaining)))
        return replace(state.carried(), status=state.status, poll=replace(poll, budget=booking, wait_seconds=wait))

    def _fail(self, state: CloneState, poll: Poll, status: str, code: str, message: str) -> CloneState:
        self.jobs.advance(
            state.clone_id,
            status,
            errorCode=code,
            errorMessage=message,
            polls=poll.attempt,
            finishedAt=iso_utc(self.timing.clock()),
        )
        failure = {"errorCode": code, "errorMessage": message}
        return replace(state.carried(), status=status, poll=poll, failure=failure)


@dataclass
class PersonalizeStore:
    """After a COMPLETED clone: the store's profile becomes the merchant's (or the one asked
    for), not the template's that a clone with settings copied. The merchant and the profile
    asked for are read from the job: the state carries no personal data."""

    client_factory: Callable[[], EcwidStoreProfileClient]
    store_token: Callable[[int], str]  # store ID -> its secret token (the store's own REST token)
    jobs: JobsRepository
    gate: RequestGate = field(default_factory=_open_gate)

    def __call__(self, state: CloneState) -> CloneState:
        done = replace(state.carried(), status="COMPLETED", result=state.result)
        profile = profile_to_set(self.jobs, state)
        if profile is None:
            outcome: dict[str, Any] = {"status": "COMPLETED", "fields": []}
            self.jobs.set_profile(state.clone_id, outcome)
            return replace(done, profile=outcome)
        store_id = state.request.target
        token = self.store_token(store_id)  # a missing token ends the step before any request is booked
        turn = BudgetTurn.from_state(state.budget)
        try:
            with step_budget(turn):
                self.client_factory().update(store_id, token, profile)
        except BudgetWait as wait:
            return replace(done, budget=waiting(wait, turn, self.gate))
        outcome = {"status": "COMPLETED", "fields": profile.fields}
        self.jobs.set_profile(state.clone_id, outcome)
        return replace(done, profile=outcome)


def profile_to_set(jobs: JobsRepository, state: CloneState) -> StoreProfile | None:
    """The profile PersonalizeStore sets for this clone, from its job (None: nothing to set)."""
    if not state.request.personalize:
        return None
    job = jobs.get(state.clone_id)
    return (job.request() if job is not None else state.request).profile_to_set()


@dataclass
class CloneInstantSite:
    """After a COMPLETED store clone: copy the source's Instant Site to the target, and give the
    site the store's own name and e-mail when the store was personalized (the site clone copies
    the template site's profile: its SEO title and browser tab)."""

    client_factory: Callable[[], InstantSiteClient]
    store_secret_token: Callable[[int], str]  # store ID -> its secret_token
    jobs: JobsRepository
    gate: RequestGate = field(default_factory=_open_gate)

    def __call__(self, state: CloneState) -> CloneState:
        request = state.request
        client = self.client_factory()
        secret_token = self.store_secret_token(request.target)
        profile = profile_to_set(self.jobs, state)
        site_profile = _site_profile(profile)
        draft = bool(request.instant_site_draft)
        outcome: dict[str, Any] = {"status": "COMPLETED", "draft": draft}
        turn = BudgetTurn.from_state(state.budget)
        try:
            # The token, the clone and the site's profile, booked together; one token serves all.
            with step_budget(turn, requests=3 if site_profile else 2):
                token = client.access_token(request.target, secret_token)
                client.clone(request.target, request.source_store_id, draft, token)
                if site_profile:
                    outcome["profile"] = _site_profile_outcome(client, request.target, site_profile, token)
        except BudgetWait as wait:
            budget = waiting(wait, turn, self.gate)
            return replace(state.carried(), status="COMPLETED", result=state.result, budget=budget)
        self.jobs.set_instant_site(state.clone_id, outcome)
        return replace(state.carried(), status="COMPLETED", result=state.result, instant_site=outcome)


def _site_profile(profile: StoreProfile | None) -> dict[str, str]:
    """The Instant Site profile fields that follow the store's: its name and e-mail, when set."""
    if profile is None:
        return {}
    fields = {"storeName": profile.store_name, "email": profile.email}
    return {name: value for name, value in fields.items() if value}


def _site_profile_outcome(client: InstantSiteClient, store_id: int, fields: dict[str, str], token: str) -> dict:
    """PUT the site's profile. Refused (a 4xx), the site clone still stands: the refusal is its
    outcome. Ecwid's or the network's trouble is raised: the state machine retries the step."""
    try:
        client.update_profile(store_id, fields, token)
    except EcwidTerminalError as refused:
        return {"status": "FAILED", "error": {"errorCode": refused.code, "errorMessage": refused.message}}
    return {"status": "COMPLETED", "fields": sorted(fields)}


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
        failure = {"errorCode": code, "errorMessage": message}
        try:
            return replace(CloneState.from_state(caught).carried(), status="FAILED", failure=failure).to_state()
        except (KeyError, TypeError, ValueError):
            # An execution started by hand with a request we cannot read: its failure is recorded all the same.
            return {"cloneId": clone_id, "status": "FAILED", "failure": failure}

    def _instant_site_failed(self, state: CloneState, code: str, message: str) -> CloneState:
        """The store clone stands: the job stays COMPLETED, with the Instant Site step FAILED."""
        outcome = {
            "status": "FAILED",
            "draft": bool(state.request.instant_site_draft),
            "error": {"errorCode": code, "errorMessage": message},
        }
        self.jobs.set_instant_site(state.clone_id, outcome)
        return replace(state.carried(), status="COMPLETED", result=state.result, instant_site=outcome)

    def _profile_failed(self, state: CloneState, code: str, message: str) -> CloneState:
        """The store clone stands: the job stays COMPLETED, with the profile step FAILED."""
        outcome = {"status": "FAILED", "error": {"errorCode": code, "errorMessage": message}}
        self.jobs.set_profile(state.clone_id, outcome)
        return replace(state.carried(), status="COMPLETED", result=state.result, profile=outcome)


def _final_state(state: CloneState, job: Job) -> CloneState:
    """A re-run of a finished clone: report what the job already says."""
    final = replace(state.carried(), ticket=job.ticket or state.ticket, status=job.status)
    if job.status == "COMPLETED":
        return replace(final, result=job.counts)
    return replace(final, failure=job.failure)


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


def clone_draw(clone_id: str) -> float:
    """A number in [0, 1) fixed by the clone ID, spread evenly over clone IDs."""
    return int.from_bytes(hashlib.blake2b(clone_id.encode(), digest_size=8).digest()) / 2**64


def _decimal_seconds(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))


__all__ = [
    "CheckCloneStatus",
    "CloneError",
    "CloneInstantSite",
    "PersonalizeStore",
    "RecordFailure",
    "StartClone",
    "describe_caught_error",
]
