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
releases what a stopped or timed-out execution held.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import ClientError

SLOTS_ITEM_NAME = "clone-slots"
HOLDER_PREFIX = "clone-slot#"
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

    def skip(self) -> None:
        """A waiter died before its turn: its number no longer stands in line."""
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
                self.store.skip()  # a retried step took a second number: it must not stand in line
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

    def give_up(self, holder: str, number: int | None) -> bool:
        """An execution ended: free its slot, or its place in line if it never got one.
        True when it held a slot (a leak, now plugged)."""
        if self.store.release(holder):
            return True
        if number is not None and number > self.store.line().passed:
            self.store.skip()
        return False


class DynamoSlotStore:
    def __init__(self, table, name: str = SLOTS_ITEM_NAME):
        self._table = table  # a boto3 DynamoDB Table resource
        self._client = table.meta.client
        self._name = name

    def take_number(self) -> tuple[int, Line]:
        answer = self._table.update_item(
            Key={"name": self._name},
            UpdateExpression="ADD arrivals :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_NEW",
        )
        item = answer["Attributes"]
        return int(item["arrivals"]), _line(item)

    def line(self) -> Line:
        return _line(self._table.get_item(Key={"name": self._name}, ConsistentRead=True).get("Item") or {})

    def skip(self) -> None:
        self._table.update_item(
            Key={"name": self._name},
            UpdateExpression="ADD passed :one",
            ExpressionAttributeValues={":one": 1},
        )

    def try_acquire(self, holder: str, limit: int, now: float) -> str | None:
        table = self._table.name
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"name": self._name},
                            "UpdateExpression": "ADD inFlight :one, passed :one",
                            "ConditionExpression": "attribute_not_exists(inFlight) OR inFlight < :limit",
                            "ExpressionAttributeValues": {":one": 1, ":limit": limit},
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {
                                "name": HOLDER_PREFIX + holder,
                                "holder": holder,
                                "acquiredAt": str(round(now, 3)),
                            },
                            "ConditionExpression": "attribute_not_exists(#name)",
                            "ExpressionAttributeNames": {"#name": "name"},
                        }
                    },
                ]
            )
            return ACQUIRED
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return ALREADY_HELD  # a retried acquire: the slot is already ours
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return None
            raise

    def release(self, holder: str) -> bool:
        table = self._table.name
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": {"name": HOLDER_PREFIX + holder},
                            "ConditionExpression": "attribute_exists(#name)",
                            "ExpressionAttributeNames": {"#name": "name"},
                        }
                    },
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"name": self._name},
                            "UpdateExpression": "ADD inFlight :minus_one",
                            "ExpressionAttributeValues": {":minus_one": -1},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # not held: released before (a retry, or the reaper)
            raise
        return True


def _line(item: dict) -> Line:
    return Line(passed=int(item.get("passed", 0)), in_flight=int(item.get("inFlight", 0)))


class MemorySlotStore:
    """The same contract in memory: for the burst simulation."""

    def __init__(self) -> None:
        self.arrivals = 0
        self.passed = 0
        self.holders: dict[str, float] = {}

    def take_number(self) -> tuple[int, Line]:
        self.arrivals += 1
        return self.arrivals, self.line()

    def line(self) -> Line:
        return Line(self.passed, len(self.holders))

    def try_acquire(self, holder: str, limit: int, now: float) -> str | None:
        if holder in self.holders:
            return ALREADY_HELD
        if len(self.holders) >= limit:
            return None
        self.holders[holder] = now
        self.passed += 1
        return ACQUIRED

    def release(self, holder: str) -> bool:
        return self.holders.pop(holder, None) is not None

    def skip(self) -> None:
        self.passed += 1
