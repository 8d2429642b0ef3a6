"""When a clone's ticket is polled next (PollTiming), and the figures a poll records on the job:
its seconds as DynamoDB numbers, and the draw fixed by the clone ID that learning from a
finish bracketed by two polls uses.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ecwid_cloner.config import DEFAULTS
from ecwid_cloner.polling import DEFAULT_POLICY, PollingPolicy, RecentDurations, scaled_wait_seconds


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


def clone_draw(clone_id: str) -> float:
    """A number in [0, 1) fixed by the clone ID, spread evenly over clone IDs."""
    return int.from_bytes(hashlib.blake2b(clone_id.encode(), digest_size=8).digest()) / 2**64


def decimal_seconds(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))
