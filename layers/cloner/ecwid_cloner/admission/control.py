"""Admission control: a cap on clones in flight, held as a DynamoDB semaphore.

Every clone in flight costs Ecwid requests until it ends (its polls, its
Instant Site), so the shared request budget can carry only so many at once.
A clone takes a slot before its first Ecwid call and gives it back on every
way out; a clone that finds no free slot waits in Step Functions, which costs
nothing while it waits, and comes back when its turn is near.

Slots live in the coordination table: one counter item (``inFlight`` and, for
places in line, ``arrivals`` and ``admitted``) and one item per holder, so a
release names exactly what it frees and a retried acquire or release changes
nothing twice. The reaper (a rule on Step Functions execution status changes)
releases what a stopped or timed-out execution still held: its slot, or its
number in line.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    pass

# What a provisioned clone asks of Ecwid while the budget is the bottleneck (the only
# time the cap matters): CreateStore, StartClone, the store profile, the Instant
# Site's three, and about 1.5 status polls (polling under a backlog, bench/burst.py).
REQUESTS_PER_CLONE = 7.5
# How long it holds its slot then: its first poll comes at its template's p90 (520 s
# in the realistic mix), and each of its steps waits its turn at the budget.
MEAN_CLONE_SECONDS = 660.0


@dataclass(frozen=True)
class AdmissionPolicy:
    max_in_flight: int
    release_interval: float  # Ecwid seconds between two slot releases when the budget is saturated
    min_wait: float = 5.0  # the front of the line asks this often
    max_wait: float = 1800.0  # nobody sleeps through many turns (each ask costs a few state transitions)
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or not self.release_interval > 0 or not 0 < self.min_wait <= self.max_wait:
            raise ValueError("admission needs max_in_flight >= 1, release_interval > 0, 0 < min_wait <= max_wait")

    @classmethod
    def sized_for(
        cls,
        budget_per_minute: float,
        requests_per_clone: float,
        mean_clone_seconds: float,
        headroom: float = 1.25,
        **kwargs: float,
    ) -> AdmissionPolicy:
        """The cap at which running clones' requests just fill the budget, with some headroom.

        In flight, a clone costs ``requests_per_clone`` over ``mean_clone_seconds``;
        so the budget carries budget_per_minute / 60 * mean_clone_seconds /
        requests_per_clone clones at once (Little's law). The headroom keeps the
        budget busy when clones run faster than the mean; the budget's priority
        for running clones keeps a larger crowd from starving their polls.
        """
        clones_per_second = budget_per_minute / 60.0 / requests_per_clone
        cap = max(1, math.ceil(clones_per_second * mean_clone_seconds * headroom))
        return cls(max_in_flight=cap, release_interval=1.0 / clones_per_second, **kwargs)

    @classmethod
    def for_budget(cls, budget_per_minute: float, max_in_flight: int, time_scale: float = 1.0) -> AdmissionPolicy:
        """The configured cap; waits paced by how fast the budget lets clones through."""
        return cls(
            max_in_flight=max_in_flight,
            release_interval=60.0 * REQUESTS_PER_CLONE / budget_per_minute,
            time_scale=time_scale,
        )

    def wait_for_place(self, place: int) -> float:
        """Seconds until a waiter at ``place`` should ask again: about when its turn comes."""
        turns = max(1, place) * self.release_interval
        return min(self.max_wait, max(self.min_wait, turns)) * self.time_scale


@dataclass(frozen=True)
class Admission:
    admitted: bool
    number: int  # this clone's number in arrival order
    place: int  # 0 when admitted; else about how many clones wait before this one, itself included
    wait: float  # seconds to wait before asking again (0 when admitted)


@dataclass(frozen=True)
class Line:
    """The counters of the line: arrivals numbered, admissions (and skipped dead waiters), slots in use."""

    passed: int  # numbers that are past the line: admitted, or given up by a dead waiter
    in_flight: int


ACQUIRED, ALREADY_HELD = "acquired", "already held"


class SlotStore(Protocol):
    def take_number(self) -> tuple[int, Line]: ...

    def line(self) -> Line: ...

    def try_acquire(self, holder: str, limit: int, now: float) -> str | None:
        """ACQUIRED, ALREADY_HELD (a retried step), or None: no slot for ``holder`` now."""
        ...

    def release(self, holder: str) -> bool: ...

    def skip(self, number: int, now: float) -> bool:
        """``number`` no longer stands in line (its waiter died, or a retried step took a
        second one). Once per number: False when it had passed already."""
        ...


class AdmissionControl:
    """First come, first served, as near as a few counters allow.

    A clone tries for a slot only when no more clones wait before it than there
    are free slots, so a newcomer does not take the slot an older waiter was
    about to get. Between tries it waits about as long as its turn takes.
    """

    def __init__(self, store: SlotStore, policy: AdmissionPolicy, clock: Callable[[], float] = time.time):
        self.store = store
        self.policy = policy
        self._clock = clock

    def acquire(self, holder: str, number: int | None = None, overdue: bool = False) -> Admission:
        """Take a slot for ``holder``, or learn its place in line and when to ask again.

        ``number``: the one an earlier refusal gave it (None on the first try).
        ``overdue``: it has waited far longer than its first place should take; then a
        free slot is taken whatever the counters say, so numbers that will never pass
        (a step that died between taking a number and a slot) cannot block the line.
        """
        fresh = number is None
        if number is None:
            number, line = self.store.take_number()
        else:
            line = self.store.line()
        place = max(1, number - line.passed)
        free = self.policy.max_in_flight - line.in_flight
        # number <= passed: perhaps admitted already (a retried step); try_acquire tells.
        if place <= free or number <= line.passed or (overdue and free > 0):
            outcome = self.store.try_acquire(holder, self.policy.max_in_flight, self._clock())
            if outcome == ALREADY_HELD and fresh:
                self.store.skip(number, self._clock())  # a retried step took a second number: it must not stand in line
            if outcome:
                return Admission(True, number, 0, 0.0)
        return Admission(False, number, place, self.policy.wait_for_place(place - max(0, free)))

    def overdue(self, first_place: int, waited_seconds: float) -> bool:
        """Waited more than twice what its first place should take, and a minute more."""
        expected = first_place * self.policy.release_interval * self.policy.time_scale
        return waited_seconds > 2 * expected + 60 * self.policy.time_scale

    def release(self, holder: str) -> bool:
        """Give ``holder``'s slot back; False when it held none (already released)."""
        return self.store.release(holder)

    def give_up(self, holder: str, waiting_number: int | None) -> bool:
        """An execution ended: free the slot ``holder`` still holds, or else the number it
        was still waiting with (None: it waited for none, or got past the line). True when
        it held a slot (a leak, now plugged).

        Only a number still in line may pass: every clone that ends normally (failed ones
        too) ends here as well, holding nothing, and its number counted when it was admitted.
        """
        if self.store.release(holder):
            return True
        if waiting_number is not None:
            self.store.skip(waiting_number, self._clock())
        return False
