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
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from decimal import Decimal

    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SLOTS_ITEM_NAME = "clone-slots"
CONFLICT_ATTEMPTS = 5  # a transaction that met another on the counter item is tried again this often
HOLDER_PREFIX = "clone-slot#"
# One item per number that passed the line without a slot, so it passes once however
# often its skip is retried; DynamoDB's TTL removes it after a while.
SKIPPED_PREFIX = "clone-slot-skipped#"
SKIPPED_KEPT_SECONDS = 30 * 86400  # far past EventBridge's last retry (a day) of a status change
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


class DynamoSlotStore:
    def __init__(self, table: Table, name: str = SLOTS_ITEM_NAME):
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
        return int(cast("Decimal", item["arrivals"])), _line(item)

    def line(self) -> Line:
        return _line(self._table.get_item(Key={"name": self._name}, ConsistentRead=True).get("Item") or {})

    def skip(self, number: int, now: float) -> bool:
        passed_before, _ = self._write_with_counter(
            {
                "Put": {
                    "Item": {"name": f"{SKIPPED_PREFIX}{number}", "expiresAt": int(now) + SKIPPED_KEPT_SECONDS},
                    "ConditionExpression": "attribute_not_exists(#name)",
                }
            },
            {"UpdateExpression": "ADD passed :one", "ExpressionAttributeValues": {":one": 1}},
        )
        return not passed_before  # else a retried skip

    def try_acquire(self, holder: str, limit: int, now: float) -> str | None:
        held_already, full = self._write_with_counter(
            {
                "Put": {
                    "Item": {"name": HOLDER_PREFIX + holder, "holder": holder, "acquiredAt": str(round(now, 3))},
                    "ConditionExpression": "attribute_not_exists(#name)",
                }
            },
            {
                "UpdateExpression": "ADD inFlight :one, passed :one",
                "ConditionExpression": "attribute_not_exists(inFlight) OR inFlight < :limit",
                "ExpressionAttributeValues": {":one": 1, ":limit": limit},
            },
        )
        if held_already:
            return ALREADY_HELD  # a retried acquire: the slot is already ours
        return None if full else ACQUIRED

    def release(self, holder: str) -> bool:
        not_held, _ = self._write_with_counter(
            {"Delete": {"Key": {"name": HOLDER_PREFIX + holder}, "ConditionExpression": "attribute_exists(#name)"}},
            {"UpdateExpression": "ADD inFlight :minus_one", "ExpressionAttributeValues": {":minus_one": -1}},
        )
        return not not_held  # else released before (a retry, or the reaper)

    def _write_with_counter(self, item_write: dict[str, Any], counter_update: dict[str, Any]) -> tuple[bool, bool]:
        """One item's conditional write and the counter's update, in one transaction: both or
        neither. Returns whether each one's condition failed ((False, False): both written)."""
        ((kind, write),) = item_write.items()
        table = self._table.name
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(
                    # The resource's client takes plain values (boto3 serializes them); the stubs type the wire format.
                    TransactItems=cast(
                        "list[TransactWriteItemTypeDef]",
                        [
                            {kind: {"TableName": table, "ExpressionAttributeNames": {"#name": "name"}, **write}},
                            {"Update": {"TableName": table, "Key": {"name": self._name}, **counter_update}},
                        ],
                    )
                )
                return False, False
            except ClientError as exc:
                failed = _failed_conditions(exc)
                if any(failed):
                    return failed
                if not _conflicted(exc) or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
            # Another transaction held the counter item (a burst of acquires, a bulk cancel): a
            # moment later it is free; jittered, so the ones that met stop meeting.
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _conflicted(exc: ClientError) -> bool:
    """A transaction cancelled because another one was writing the same item."""
    reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    return exc.response["Error"]["Code"] == "TransactionCanceledException" and "TransactionConflict" in reasons


def _failed_conditions(exc: ClientError) -> tuple[bool, bool]:
    """For a cancelled two-item transaction: whether each item's condition failed
    (neither, for any other error)."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        return False, False
    reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    reasons += [None] * (2 - len(reasons))
    return reasons[0] == "ConditionalCheckFailed", reasons[1] == "ConditionalCheckFailed"


def _line(item: Mapping[str, Any]) -> Line:
    return Line(passed=int(item.get("passed", 0)), in_flight=int(item.get("inFlight", 0)))
