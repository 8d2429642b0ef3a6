"""The state the state machine carries between the clone's steps, typed.

Each step reads it with ``CloneState.from_state`` and hands on ``to_state()``:
the JSON keys are the state machine's contract (its Choice and Wait states read
``$.status``, ``$.poll.waitSeconds``, ``$.budget.waitSeconds``, ``$.request.…``).
A step waiting for Ecwid's request budget, whichever it is, keeps its turn in ``$.budget``.
It never holds a mapping or a credential: the mapping goes to DynamoDB and only
its counts travel on. Plain dataclasses, not pydantic: the Step Functions tasks
stay quick to start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecwid_cloner.models import CloneRequest
from ecwid_cloner.polling import RecentDurations


@dataclass(frozen=True)
class BudgetTurn:
    """A step's turn at Ecwid's request budget, carried in ``$.budget`` while the step waits
    for it: the booking its next run goes on, and the Wait state's seconds until then."""

    booked_at: float | None = None  # a booking held for this step's next run
    tokens: int = 0  # how many requests that booking holds
    refusals: int = 0  # how often its new work was refused so far
    backlog: float = 0.0  # the lead its booking saw: the next run goes on that booking, not a new one
    wait_seconds: int = 0  # the Wait state's seconds until the next run

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> BudgetTurn:
        state = state or {}
        booked_at = state.get("bookedAt")
        return cls(
            float(booked_at) if booked_at is not None else None,
            int(state.get("tokens") or 0),
            int(state.get("refusals") or 0),
            float(state.get("backlog") or 0.0),
            int(state.get("waitSeconds") or 0),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "bookedAt": self.booked_at,
            "tokens": self.tokens,
            "refusals": self.refusals,
            "backlog": round(self.backlog, 3),
            "waitSeconds": self.wait_seconds,
        }


@dataclass(frozen=True)
class Poll:
    """Where the polling of one ticket stands."""

    attempt: int  # polls made so far
    started_at: float  # epoch seconds the clone started (Ecwid accepted it)
    deadline_at: float  # epoch seconds after which the clone is TIMED_OUT
    wait_seconds: int  # the Wait state's next wait
    transient_errors: int = 0  # polls that failed and were repeated
    expected_seconds: float | None = None  # how long this template's clones take (learned polling)
    last_error: str | None = None  # the code of the last failed poll, while it is the last
    # Polling under a backlog of the request budget (polling.py):
    durations: RecentDurations | None = None  # the template's recent durations (the policy's seconds)
    poll_at: float | None = None  # epoch seconds of the Ecwid poll the backlog planned (waited in hops)
    running_seen: float = 0.0  # seconds from the start to the last poll that saw the clone running
    backlog_polls: int = 0  # waits the backlog set so far
    backlog_wait: bool = False  # the wait now running was set by the backlog

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Poll:
        durations = data.get("durations") or ()
        return cls(
            attempt=int(data["attempt"]),
            started_at=float(data["startedAt"]),
            deadline_at=float(data["deadlineAt"]),
            wait_seconds=int(data.get("waitSeconds", 0)),
            transient_errors=int(data.get("transientErrors", 0)),
            expected_seconds=data.get("expectedSeconds"),
            last_error=data.get("lastError"),
            durations=RecentDurations(tuple(sorted(map(float, durations)))) if len(durations) >= 2 else None,
            poll_at=float(data["pollAt"]) if data.get("pollAt") is not None else None,
            running_seen=float(data.get("runningSeen") or 0.0),
            backlog_polls=int(data.get("backlogPolls") or 0),
            backlog_wait=bool(data.get("backlogWait")),
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "attempt": self.attempt,
            "startedAt": self.started_at,
            "deadlineAt": self.deadline_at,
            "transientErrors": self.transient_errors,
            "expectedSeconds": self.expected_seconds,
            "waitSeconds": self.wait_seconds,
        }
        if self.last_error is not None:
            state["lastError"] = self.last_error
        if self.durations is not None:
            state["durations"] = self.durations.to_state()
        if self.poll_at is not None:
            state["pollAt"] = round(self.poll_at, 3)
        if self.running_seen:
            state["runningSeen"] = round(self.running_seen, 3)
        if self.backlog_polls:
            state["backlogPolls"] = self.backlog_polls
            state["backlogWait"] = self.backlog_wait
        return state


@dataclass(frozen=True)
class CloneState:
    """One clone between two steps; a field that is None is absent from the JSON."""

    clone_id: str
    request: CloneRequest
    ticket: str | None = None
    status: str | None = None
    poll: Poll | None = None
    result: dict[str, int] | None = None  # {"products", "categories"}: how many were mapped
    failure: dict[str, Any] | None = None  # {"errorCode", "errorMessage"}
    instant_site: dict[str, Any] | None = None  # the Instant Site step's outcome
    profile: dict[str, Any] | None = None  # the PersonalizeStore step's outcome
    budget: BudgetTurn | None = None  # a step (a poll too) waiting its turn for Ecwid's request budget
    store: dict[str, Any] | None = None  # {"storeId", "tokenSaved"}: the store CreateStore made
    event: dict[str, Any] | None = None  # {"detailType", "detail"}: for the native PutEvents state

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> CloneState:
        """Read a state; keys that belong to other states (slot, error, ...) are left out."""
        poll = data.get("poll")
        # An execution from before every booking was kept in $.budget: a poll kept its own in the poll.
        budget = data.get("budget") or (poll or {}).get("budget")
        return cls(
            clone_id=str(data["cloneId"]),
            request=CloneRequest.from_state(data["request"]),
            ticket=data.get("ticket"),
            status=data.get("status"),
            poll=Poll.from_state(poll) if poll else None,
            result=data.get("result"),
            failure=data.get("failure"),
            instant_site=data.get("instantSite"),
            profile=data.get("profile"),
            budget=BudgetTurn.from_state(budget) if budget else None,
            store=data.get("store"),
            event=data.get("event"),
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"cloneId": self.clone_id, "request": self.request.to_state()}
        optional = {
            "ticket": self.ticket,
            "status": self.status,
            "poll": self.poll.to_state() if self.poll else None,
            "result": self.result,
            "failure": self.failure,
            "instantSite": self.instant_site,
            "profile": self.profile,
            "budget": self.budget.to_state() if self.budget is not None else None,
            "store": self.store,
            "event": self.event,
        }
        state.update({key: value for key, value in optional.items() if value is not None})
        return state

    def carried(self) -> CloneState:
        """What every step hands on whatever happened: the clone, its request and ticket."""
        return CloneState(self.clone_id, self.request, self.ticket)
