"""One request budget for every Ecwid call the stack makes.

Ecwid allows 600 requests a minute per app and answers 429 past that; a key
that keeps failing gets blocked. So the stack books its calls against one
shared schedule instead of finding the limit by hitting it.

The schedule is GCRA's "virtual scheduling", kept in one DynamoDB item:
``tat`` is the moment the next request may go if the budget were used at its
full rate. Taking a token books the next free moment: now when the schedule
is clear, later when it is not. A caller that must wait knows exactly how
long, and its booking is kept for it, so waiting callers never come back as a
herd to fight for the same token.

Running clones come first: their calls (status polls, Instant Site) are always
booked, however far ahead. New work (a clone POST, a store creation) is booked
only while the schedule is clear; otherwise it is told when it will be, and
books nothing, so a crowd of new clones can never push a running one back.

Every booking also says how far the schedule ran ahead of now (its ``lead``):
the backlog, which the polling policy reads to spend fewer polls while the
budget is the bottleneck. It comes with the write the booking makes anyway;
``RequestGate.lead`` reads it without booking (one GetItem), for a step that
only checks whether the backlog is still there.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ecwid_cloner.config import DEFAULTS
from ecwid_cloner.state import BudgetTurn

if TYPE_CHECKING:
    pass


class Priority(enum.IntEnum):
    RUNNING = 0  # a clone already accepted by Ecwid: its polls, its Instant Site
    NEW = 1  # work that starts something: a clone POST, a store creation


@dataclass(frozen=True)
class BudgetPolicy:
    # The settings' defaults (config.py): 540 a minute, 90 % of Ecwid's 600, the rest free for the
    # reseller's own tools; 10 requests may go at once after a quiet spell.
    per_minute: float = DEFAULTS["ecwid_budget_per_minute"]
    burst: int = DEFAULTS["ecwid_budget_burst"]
    # New work books only this close ahead: running clones' polls are never pushed
    # back further, and booked new work arrives on time instead of retrying as a herd.
    new_work_horizon: float = 30.0
    time_scale: float = 1.0  # < 1 on the local stack, whose waits (and Ecwid's minute) are shrunk alike
    refused_backoff: float = 2.0  # new work refused n times comes back within this * 2**n seconds...
    max_refused_backoff: float = 60.0  # ...at most this: a crowd of new clones spreads out, not a herd

    def __post_init__(self) -> None:
        if not self.per_minute > 0 or self.burst < 1 or self.new_work_horizon < 0 or not self.time_scale > 0:
            raise ValueError("a budget needs per_minute > 0, burst >= 1, new_work_horizon >= 0, time_scale > 0")

    @property
    def interval(self) -> float:
        """Seconds between two requests at the full rate."""
        return 60.0 / self.per_minute * self.time_scale

    @property
    def tolerance(self) -> float:
        """How far ahead of ``tat`` a request may go: the burst."""
        return (self.burst - 1) * self.interval

    def next_turn(
        self, turn: BudgetTurn, wait: BudgetWait, rng: random.Random | None = None
    ) -> tuple[BudgetTurn, float]:
        """The turn for the step's next run, and the seconds to wait until then.

        A booking is kept for the next run and waited for exactly. Refused new
        work comes back after the schedule clears plus a jittered, growing
        backoff: refused callers spread out instead of all returning at once.
        """
        booking = wait.booking
        if booking.booked:
            return BudgetTurn(booking.at, wait.tokens, turn.refusals, booking.lead), booking.wait
        refusals = turn.refusals + 1
        ceiling = min(self.max_refused_backoff, self.refused_backoff * 2**refusals) * self.time_scale
        horizon = self.new_work_horizon * self.time_scale  # the schedule must come within it
        return BudgetTurn(None, 0, refusals), booking.wait - horizon + (rng or random).uniform(0, ceiling)


@dataclass(frozen=True)
class Booking:
    at: float  # when the request may go (epoch seconds)
    wait: float  # seconds from now until then, never negative
    booked: bool  # False: new work refused; nothing is held for it, come back after ``wait``
    lead: float = 0.0  # how far the schedule ran ahead of now before this booking: the backlog


def book(
    tat: float | None, now: float, policy: BudgetPolicy, priority: Priority, count: int = 1
) -> tuple[float | None, Booking]:
    """The schedule's decision for ``count`` requests that go together: (the new
    ``tat``, or None when nothing is booked; the booking)."""
    earliest = now if tat is None else max(now, tat - policy.tolerance)
    wait = earliest - now
    lead = 0.0 if tat is None else max(0.0, tat - now)
    if priority is Priority.NEW and wait > policy.new_work_horizon * policy.time_scale:
        return None, Booking(earliest, wait, booked=False, lead=lead)
    new_tat = max(now if tat is None else tat, now) + count * policy.interval
    return new_tat, Booking(earliest, wait, booked=True, lead=lead)


class BudgetStore(Protocol):
    """Where ``tat`` lives. ``book`` applies ``book()`` (the function above) atomically:
    decides and writes in one step, so concurrent callers never get the same turn."""

    def book(self, now: float, policy: BudgetPolicy, priority: Priority, count: int) -> Booking: ...

    def lead(self, now: float) -> float:
        """How far the schedule runs ahead of ``now`` (0 when clear), booking nothing."""
        ...


class RequestBudget:
    def __init__(self, store: BudgetStore, policy: BudgetPolicy, *, clock: Callable[[], float] = time.time):
        self.store = store
        self.policy = policy
        self._clock = clock

    def take(self, priority: Priority, count: int = 1) -> Booking:
        """Book ``count`` requests: go now (``wait`` 0), go at ``at`` (booked), or come back (not booked)."""
        return self.store.book(self._clock(), self.policy, priority, count)

    def lead(self) -> float:
        return self.store.lead(self._clock())


class BudgetWait(Exception):
    """The request may not go yet; the step returns this wait to the state machine.

    ``booking.booked``: ``tokens`` requests are held from ``booking.at``; the
    step hands them back on its next run (``step_budget``) and goes then.
    """

    def __init__(self, booking: Booking, tokens: int = 0):
        super().__init__(f"Ecwid request budget: wait {booking.wait:.1f} s")
        self.booking = booking
        self.tokens = tokens if booking.booked else 0

    @property
    def retry_after(self) -> int:
        """Whole seconds to come back after (an HTTP Retry-After), at least one."""
        return max(1, math.ceil(self.booking.wait))


@dataclass
class StepBudget:
    """The budget of the step running now: its tokens, and the backlog its bookings saw."""

    booked_at: float | None
    tokens: int  # held by the booking, not yet spent
    requests: int  # how many requests the step makes: booked together
    backlog: float = 0.0  # the largest lead of this step's bookings (or of the one it holds), seconds


# The tokens of the step running now. A context variable, not an attribute: the
# local Lambda endpoint runs execution environments as threads of one process.
_step: ContextVar[StepBudget | None] = ContextVar("step_tokens", default=None)


class RequestGate:
    """Every Ecwid request of every client passes here first (``None`` budget: no gate)."""

    def __init__(self, budget: RequestBudget | None, clock: Callable[[], float] = time.time):
        self.budget = budget
        self._clock = clock

    def admit(self, priority: Priority) -> None:
        """Return when the request may go now; raise BudgetWait otherwise."""
        if self.budget is None:
            return
        # A booked request may go this early: it is one more of the burst. Wait
        # states round up to whole seconds, so a step comes back after its booking.
        early = self.budget.policy.tolerance
        step = _step.get() or StepBudget(None, 0, 1)
        if step.tokens > 0:
            remaining = (step.booked_at or 0.0) - self._clock()
            if remaining > early:
                raise BudgetWait(Booking(step.booked_at or 0.0, remaining, True, step.backlog), step.tokens)
            step.tokens -= 1
            return
        booking = self.budget.take(priority, step.requests)
        step.backlog = max(step.backlog, booking.lead)
        if booking.booked and booking.wait <= early:
            step.booked_at, step.tokens = booking.at, step.requests - 1
            return
        raise BudgetWait(booking, step.requests)

    def lead(self) -> float:
        """How far the shared schedule runs ahead of now: the backlog (0 with no budget)."""
        return 0.0 if self.budget is None else self.budget.lead()

    def hold(self, priority: Priority) -> None:
        """Take the step's token(s) now and keep them for its requests; raise BudgetWait
        if they must wait. A step holds before it writes anything it would have to undo
        when told to wait (StartClone counts its POSTs)."""
        if self.budget is None:
            return
        self.admit(priority)
        step = _step.get()
        if step is not None:
            step.tokens += 1  # admit spent one: give it back to the step's next request


@contextmanager
def step_budget(turn: BudgetTurn | None = None, requests: int = 1) -> Iterator[StepBudget]:
    """Run a step: with the tokens its previous run booked, and booking its ``requests`` together.
    The step reads the backlog its requests met from what this yields (also after a BudgetWait).
    A step runs its Ecwid calls through ``steps.budgeted.run_budgeted``, which uses this."""
    turn = turn or BudgetTurn()
    step = StepBudget(turn.booked_at, turn.tokens, max(1, requests), turn.backlog if turn.tokens else 0.0)
    token = _step.set(step)
    try:
        yield step
    finally:
        _step.reset(token)
