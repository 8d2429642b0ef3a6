"""CheckCloneStatus: poll the ticket; on COMPLETED write the mapping and pass on its counts, on
FAILED or past the deadline end the clone, else plan the next poll.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.data.job import iso_utc
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.data.mappings import MappingStore
from ecwid_cloner.ecwid.budget import RequestGate
from ecwid_cloner.errors import EcwidRateLimitedError, EcwidRetryableError, ErrorCode
from ecwid_cloner.models import CloneStatus, Entity, JobStatus, TicketStatus
from ecwid_cloner.polling import learned_duration
from ecwid_cloner.state import BudgetTurn, CloneState, Failure, Poll
from ecwid_cloner.steps.budgeted import open_gate, run_budgeted
from ecwid_cloner.steps.poll_timing import PollTiming, clone_draw, decimal_seconds

if TYPE_CHECKING:  # requests: loaded with the first HTTP client, not by every step
    from ecwid_cloner.ecwid.clone_api import EcwidCloneClient


@dataclass
class CheckCloneStatus:
    client_factory: Callable[[], EcwidCloneClient]
    jobs: JobsRepository
    mappings: MappingStore
    timing: PollTiming = field(default_factory=PollTiming)
    gate: RequestGate = field(default_factory=open_gate)

    def __call__(self, state: CloneState) -> CloneState:
        assert state.ticket is not None and state.poll is not None, "CheckCloneStatus follows StartClone"
        clone_id, ticket = state.clone_id, state.ticket
        if state.poll.poll_at is not None and state.budget is None:
            hop = self.timing.check(state.poll.poll_at, self.timing.clock(), self._backlog())
            if hop is not None:  # the backlog lasts: wait on, no Ecwid request
                return replace(state.carried(), status=state.status, poll=replace(state.poll, wait_seconds=hop))
        poll = replace(state.poll, poll_at=None)
        polled = run_budgeted(state.budget, self.gate, lambda: self._get_status(ticket))
        if isinstance(polled, BudgetTurn):
            # Not a poll yet: the running clone waits its turn, bounded by its deadline.
            return self._wait_for_budget(state, poll, polled)
        answer, backlog = polled.value, polled.backlog
        if isinstance(answer, EcwidRetryableError):
            # A failed poll is not a failed clone: the next poll is the retry.
            # Only the deadline (or a terminal answer) ends the clone.
            poll = replace(
                poll, attempt=poll.attempt + 1, transient_errors=poll.transient_errors + 1, last_error=answer.code
            )
            min_wait = answer.retry_after if isinstance(answer, EcwidRateLimitedError) else None
            return self._keep_polling(state, poll, state.status or JobStatus.QUEUED, backlog, min_wait)

        poll = replace(poll, attempt=poll.attempt + 1, last_error=None)
        seen_at = self.timing.clock()
        if answer.status == TicketStatus.COMPLETED:
            return self._completed(state, poll, answer, seen_at)
        if answer.status == TicketStatus.FAILED:
            message = answer.error_message or "Ecwid reported the clone FAILED"
            return self._fail(state, poll, JobStatus.FAILED, ErrorCode.CLONE_FAILED, message)
        if answer.status != state.status:
            self.jobs.advance(clone_id, answer.status, polls=poll.attempt)
        poll = replace(poll, running_seen=seen_at - poll.started_at)
        return self._keep_polling(state, poll, answer.status, backlog)

    def _completed(self, state: CloneState, poll: Poll, answer: CloneStatus, seen_at: float) -> CloneState:
        """The mapping written, the job COMPLETED; only the counts travel on."""
        clone_id = state.clone_id
        counts = self.mappings.write(
            clone_id,
            state.request.target,
            {Entity.PRODUCTS: answer.products, Entity.CATEGORIES: answer.categories},
        )
        finished = self.timing.clock()
        self.jobs.advance(
            clone_id,
            JobStatus.COMPLETED,
            products=counts[Entity.PRODUCTS],
            categories=counts[Entity.CATEGORIES],
            polls=poll.attempt,
            finishedAt=iso_utc(finished),
            durationSeconds=decimal_seconds(finished - poll.started_at),
            # What the next clone of this template learns from: Ecwid's time, without our writes.
            cloneSeconds=decimal_seconds(self._learned_seconds(clone_id, poll, seen_at - poll.started_at)),
            **({"backlogPolls": poll.backlog_polls} if poll.backlog_polls else {}),
        )
        return replace(state.carried(), status=JobStatus.COMPLETED, poll=poll, result=counts)

    def _get_status(self, ticket: str) -> CloneStatus | EcwidRetryableError:
        """Ecwid's answer, or the error of a poll that failed: a value, the next poll is its retry."""
        try:
            return self.client_factory().get_status(ticket)
        except EcwidRetryableError as failed:
            return failed

    def _keep_polling(
        self, state: CloneState, poll: Poll, status: str, backlog: float, min_wait: float | None = None
    ) -> CloneState:
        now = self.timing.clock()
        remaining = poll.deadline_at - now
        if remaining <= 0:
            message = f"Ticket {state.ticket} did not finish within {self.timing.deadline_seconds:.0f} s"
            return self._fail(state, poll, JobStatus.TIMED_OUT, ErrorCode.CLONE_TIMED_OUT, message)
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

    def _wait_for_budget(self, state: CloneState, poll: Poll, turn: BudgetTurn) -> CloneState:
        remaining = poll.deadline_at - self.timing.clock()
        if remaining <= 0:
            return self._keep_polling(state, poll, state.status or JobStatus.QUEUED, 0.0)  # records TIMED_OUT
        # The running clone's Wait state ($.poll.waitSeconds) waits the turn, never past the deadline.
        wait = max(1, min(turn.wait_seconds, math.ceil(remaining)))
        return replace(
            state.carried(),
            status=state.status,
            poll=replace(poll, wait_seconds=wait),
            budget=replace(turn, wait_seconds=wait),
        )

    def _fail(self, state: CloneState, poll: Poll, status: str, code: str, message: str) -> CloneState:
        self.jobs.advance(
            state.clone_id,
            status,
            errorCode=code,
            errorMessage=message,
            polls=poll.attempt,
            finishedAt=iso_utc(self.timing.clock()),
        )
        return replace(state.carried(), status=status, poll=poll, failure=Failure(code, message))
