"""When to ask Ecwid again: the polling policy, a pure function.

A clone takes 1 to 15 minutes, so the first look comes at the earliest
likely finish. After that, the wait grows with the time already spent: a
finish at time T is seen at most max(min_interval, growth * T) late, and a
900 s clone costs about 20 polls instead of 30 for a fixed 30 s poller.

Partners clone the same template again and again, so the durations of the
earlier clones of a source say when the next one will finish.
``expected_duration`` turns them into E, the earliest finish to expect, and
``next_wait(..., expected=E)`` skips the polls before it: the first look
comes at E + max(min_interval, growth * E) (never before first_wait), so a
finish after E is still seen within max(min_interval, growth * T); from
there the waits are the plain policy's, which are already the longest that
bound allows. Only a clone that finishes before E, faster than its recent
history allows, is seen later than that: at the first poll. For any finish
time the learned schedule makes no more polls than the plain one.

Polling denser than that around the expected finish shortens the lag a
little and costs polls: with durations +-30 % around a template's mean,
waits of 13 % of the time spent (instead of 15 %) take a median of 5 polls
per repeat clone instead of 4, and a 10 s floor (instead of 15 s) makes a
90 s template cost more polls than the plain policy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

HISTORY_SIZE = 10  # how many recent clones of a source speak for the next one
MIN_HISTORY = 5  # fewer than this: no estimate, the plain policy
FASTEST_SHARE = 0.85  # E is at most this share of the fastest recent duration...
MEDIAN_SHARE = 0.6  # ...and of the median one (a few samples can all be slow ones)


def expected_duration(
    previous_durations: Iterable[object],
    *,
    last: int = HISTORY_SIZE,
    min_samples: int = MIN_HISTORY,
) -> float | None:
    """E, the earliest finish to expect from the durations of earlier clones
    of the same source, or None when there are fewer than ``min_samples``.

    ``previous_durations``: seconds from start to the poll that saw COMPLETED
    (the jobs table's ``durationSeconds``), most recent first; only the first
    ``last`` usable ones count. Non-numbers, non-finite and non-positive
    values are skipped (DynamoDB's Decimals are fine).

    A low estimate on purpose: min(FASTEST_SHARE * fastest, MEDIAN_SHARE *
    median). An odd fast clone only lowers it (more polls, never a late
    detection), an odd slow one does not raise it, and the margins cover
    clones somewhat faster than any recent one.
    """
    usable = (seconds for seconds in map(_seconds, previous_durations) if seconds is not None)
    recent = list(islice(usable, last))
    if len(recent) < max(1, min_samples):
        return None
    return min(FASTEST_SHARE * min(recent), MEDIAN_SHARE * _median(recent))


@dataclass(frozen=True)
class PollingPolicy:
    first_wait: float = 60.0  # no clone finishes sooner than about a minute
    min_interval: float = 15.0
    growth: float = 0.15  # each wait is at most this share of the time spent so far
    max_interval: float = 240.0

    def next_wait(self, attempt: int, elapsed: float, expected: float | None = None) -> float:
        """Seconds to wait before status poll number ``attempt + 1``.

        ``attempt`` is the number of polls made so far, ``elapsed`` the
        seconds since the clone was started, ``expected`` the clone's E from
        ``expected_duration`` (None, or not a positive number: no history).
        """
        if attempt <= 0:
            first_look = self.first_wait
            if (earliest := _seconds(expected)) is not None:
                # Any finish after E is still seen within what the plain policy allows.
                first_look = max(first_look, earliest + max(self.min_interval, self.growth * earliest))
            return max(0.0, first_look - elapsed)
        return min(self.max_interval, max(self.min_interval, self.growth * elapsed))


def _median(values: list[float]) -> float:
    # statistics.median, without importing statistics (and fractions) at every cold start
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _seconds(value: object) -> float | None:
    """A positive, finite number of seconds, or None."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def scaled_wait_seconds(virtual_wait: float, scale: float, remaining: float | None = None) -> int:
    """The policy's wait turned into a Wait state's whole seconds.

    ``scale`` < 1 shrinks every wait for local runs (Wait states really sleep);
    rounding down never makes detection later. ``remaining`` (real seconds to
    the deadline) caps the wait so the deadline is checked on time.
    """
    seconds = virtual_wait * scale
    if remaining is not None:
        seconds = min(seconds, max(0.0, remaining))
    # A scaled-down wait below one second would spin; keep local loops at >= 1 s.
    floor = 1 if scale < 1 else 0
    return max(floor, math.floor(seconds))


DEFAULT_POLICY = PollingPolicy()
