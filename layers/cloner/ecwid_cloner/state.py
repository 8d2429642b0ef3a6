"""The state the state machine carries between the clone's steps, typed.

Each step reads it with ``CloneState.from_state`` and hands on ``to_state()``:
the JSON keys are the state machine's contract (its Choice and Wait states read
``$.status``, ``$.poll.waitSeconds``, ``$.budget.waitSeconds``, ``$.request.…``).
A step waiting for Ecwid's request budget, whichever it is, keeps its turn in ``$.budget``;
a clone waiting for a slot, its ticket in ``$.slot`` (SlotTicket; CloneState leaves it out).
It never holds a mapping or a credential: the mapping goes to DynamoDB and only
its counts travel on. Plain dataclasses, not pydantic: the Step Functions tasks
stay quick to start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ecwid_cloner.models import CloneRequest
from ecwid_cloner.polling import RecentDurations


@dataclass(frozen=True)
class Failure:
    """Why a clone (or a step after it) failed: ``$.failure``, and the ``error`` of a failed step's
    outcome. The Fail state reads ``$.failure.errorCode`` and ``$.failure.errorMessage``."""

    error_code: str
    error_message: str

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> Failure:
        return cls(str(data["errorCode"]), str(data.get("errorMessage") or ""))

    def to_state(self) -> dict[str, str]:
        return {"errorCode": self.error_code, "errorMessage": self.error_message}


@dataclass(frozen=True)
class StepOutcome:
    """How a step after the clone went that sets a profile: PersonalizeStore's (``$.profile``)
    and the Instant Site's own profile (``$.instantSite.profile``): the names of the fields set,
    never their values, or why it failed."""

    status: str  # COMPLETED or FAILED
    fields: tuple[str, ...] | None = None  # the dotted names of the fields set (COMPLETED)
    error: Failure | None = None  # what refused it (FAILED)

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> StepOutcome:
        fields = data.get("fields")
        error = data.get("error")
        return cls(
            str(data["status"]),
            tuple(map(str, fields)) if fields is not None else None,
            Failure.from_state(error) if error else None,
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"status": self.status}
        if self.fields is not None:
            state["fields"] = list(self.fields)
        if self.error is not None:
            state["error"] = self.error.to_state()
        return state


@dataclass(frozen=True)
class InstantSiteOutcome:
    """How the CloneInstantSite step went (``$.instantSite``): the site cloned as a draft or not,
    its profile given the store's name and e-mail (when personalized), or why it failed."""

    status: str  # COMPLETED or FAILED
    draft: bool
    profile: StepOutcome | None = None  # the site's profile, when the store was personalized
    error: Failure | None = None  # what failed the step (FAILED)

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> InstantSiteOutcome:
        profile, error = data.get("profile"), data.get("error")
        return cls(
            str(data["status"]),
            bool(data.get("draft")),
            StepOutcome.from_state(profile) if profile else None,
            Failure.from_state(error) if error else None,
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"status": self.status, "draft": self.draft}
        if self.profile is not None:
            state["profile"] = self.profile.to_state()
        if self.error is not None:
            state["error"] = self.error.to_state()
        return state


@dataclass(frozen=True)
class ProvisionedStore:
    """The store CreateStore made for the merchant (``$.store``): its ID and whether its token was
    kept in the token store; never the token."""

    store_id: int
    token_saved: bool

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> ProvisionedStore:
        return cls(int(data["storeId"]), bool(data.get("tokenSaved")))

    def to_state(self) -> dict[str, Any]:
        return {"storeId": self.store_id, "tokenSaved": self.token_saved}


@dataclass(frozen=True)
class OutcomeEvent:
    """An event for the state machine's native PutEvents state (``$.event.detailType``,
    ``$.event.detail``). The detail is the event's own contract (data.outcome_events: the job's
    public fields, JSON as published), carried as it is."""

    detail_type: str
    detail: Mapping[str, Any]

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> OutcomeEvent:
        return cls(str(data["detailType"]), dict(data["detail"]))

    def to_state(self) -> dict[str, Any]:
        return {"detailType": self.detail_type, "detail": dict(self.detail)}


@dataclass(frozen=True)
class SlotTicket:
    """A clone's ticket for a slot among the clones in flight (``$.slot``, AcquireSlot's result):
    held, or where in line and how long the Wait state waits before it asks again. Its number, its
    first place and when it began to wait travel with it, so that a waiter keeps its turn."""

    held: bool
    number: int  # its number in arrival order
    waited_seconds: float = 0.0  # since the first refusal (the slot-wait alarm watches it)
    # While it waits in line (not held):
    place: int = 0  # about how many clones wait before it, itself included
    waiting_since: float | None = None  # epoch seconds of the first refusal
    first_place: int = 0  # its place at the first refusal (how overdue it is, is measured on it)
    wait_seconds: int = 0  # the Wait state's seconds until it asks again

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> SlotTicket:
        since = data.get("waitingSince")
        return cls(
            held=bool(data["held"]),
            number=int(data["number"]),
            waited_seconds=float(data.get("waitedSeconds") or 0.0),
            place=int(data.get("place") or 0),
            waiting_since=float(since) if since is not None else None,
            first_place=int(data.get("firstPlace") or 0),
            wait_seconds=int(data.get("waitSeconds") or 0),
        )

    def to_state(self) -> dict[str, Any]:
        if self.held:
            return {"held": True, "number": self.number, "waitedSeconds": self.waited_seconds}
        return {
            "held": False,
            "number": self.number,
            "place": self.place,
            "waitingSince": self.waiting_since,
            "firstPlace": self.first_place,
            "waitedSeconds": self.waited_seconds,
            "waitSeconds": self.wait_seconds,
        }


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
    def from_state(cls, state: Mapping[str, Any] | None) -> BudgetTurn:
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
    def from_state(cls, data: Mapping[str, Any]) -> Poll:
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
    failure: Failure | None = None
    instant_site: InstantSiteOutcome | None = None  # the Instant Site step's outcome
    profile: StepOutcome | None = None  # the PersonalizeStore step's outcome
    budget: BudgetTurn | None = None  # a step (a poll too) waiting its turn for Ecwid's request budget
    store: ProvisionedStore | None = None  # the store CreateStore made
    event: OutcomeEvent | None = None  # for the native PutEvents state

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> CloneState:
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
            failure=_read(data, "failure", Failure.from_state),
            instant_site=_read(data, "instantSite", InstantSiteOutcome.from_state),
            profile=_read(data, "profile", StepOutcome.from_state),
            budget=BudgetTurn.from_state(budget) if budget else None,
            store=_read(data, "store", ProvisionedStore.from_state),
            event=_read(data, "event", OutcomeEvent.from_state),
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"cloneId": self.clone_id, "request": self.request.to_state()}
        optional = {
            "ticket": self.ticket,
            "status": self.status,
            "poll": self.poll.to_state() if self.poll is not None else None,
            "result": self.result,
            "failure": self.failure.to_state() if self.failure is not None else None,
            "instantSite": self.instant_site.to_state() if self.instant_site is not None else None,
            "profile": self.profile.to_state() if self.profile is not None else None,
            "budget": self.budget.to_state() if self.budget is not None else None,
            "store": self.store.to_state() if self.store is not None else None,
            "event": self.event.to_state() if self.event is not None else None,
        }
        state.update({key: value for key, value in optional.items() if value is not None})
        return state

    def carried(self) -> CloneState:
        """What every step hands on whatever happened: the clone, its request and ticket."""
        return CloneState(self.clone_id, self.request, self.ticket)


def _read[T](data: Mapping[str, Any], key: str, read: Callable[[Mapping[str, Any]], T]) -> T | None:
    """The part of the state at ``key``, typed; None when the state has none."""
    part = data.get(key)
    return read(part) if part else None
