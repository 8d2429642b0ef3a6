"""StartClone: record the intent, POST the clone to Ecwid (or adopt the running ticket that is
ours), and plan the first poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.data.job import Job, iso_utc
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.ecwid.budget import Priority, RequestGate
from ecwid_cloner.errors import TARGET_NOT_EMPTY_CODES, EcwidTerminalError, ErrorCode, TargetBusyError
from ecwid_cloner.models import CloneRequest, JobStatus
from ecwid_cloner.polling import BACKLOG_HISTORY_SIZE, RecentDurations, expected_duration
from ecwid_cloner.state import BudgetTurn, CloneState, Failure, Poll
from ecwid_cloner.steps.budgeted import open_gate, run_budgeted
from ecwid_cloner.steps.poll_timing import PollTiming, decimal_seconds

if TYPE_CHECKING:  # requests: loaded with the first HTTP client, not by every step
    from ecwid_cloner.ecwid.clone_api import EcwidCloneClient


@dataclass
class StartClone:
    client_factory: Callable[[], EcwidCloneClient]  # lazy: the secret is read only when Ecwid is called
    jobs: JobsRepository
    timing: PollTiming = field(default_factory=PollTiming)
    gate: RequestGate = field(default_factory=open_gate)  # the shared Ecwid request budget

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
            # The token first (hold): a step told to wait must not have counted a POST.
            posted = run_budgeted(state.budget, self.gate, lambda: self._post(clone_id, request), hold=Priority.NEW)
            if isinstance(posted, BudgetTurn):
                return CloneState(clone_id, request, budget=posted)
            ticket, backlog = posted.value, posted.backlog
        started_at = job.started_at_epoch or now
        deadline_at = started_at + self.timing.deadline_seconds * self.timing.poll_scale
        self.jobs.advance(
            clone_id,
            JobStatus.QUEUED,
            ticket=ticket,
            startedAt=iso_utc(started_at),
            startedAtEpoch=decimal_seconds(started_at),
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
        return CloneState(clone_id, request, ticket=ticket, status=JobStatus.QUEUED, poll=poll)

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
                    ErrorCode.CLONE_ANSWER_LOST,
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


def _final_state(state: CloneState, job: Job) -> CloneState:
    """A re-run of a finished clone: report what the job already says."""
    final = replace(state.carried(), ticket=job.ticket or state.ticket, status=job.status)
    if job.status == JobStatus.COMPLETED:
        return replace(final, result=job.counts)
    # Every way a clone fails writes its code on the job; the fallback only keeps the Fail state's
    # ErrorPath ($.failure.errorCode) a string.
    return replace(
        final, failure=Failure(job.error_code or ErrorCode.UNKNOWN_ERROR, str(job.get("errorMessage") or ""))
    )
