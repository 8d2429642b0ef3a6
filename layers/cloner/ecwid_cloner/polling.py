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

All of that is quiet-time polling. When the shared request budget has a
backlog (its schedule runs ``backlog_seconds`` or more ahead of now), every
poll delays a request of some other merchant's clone, so polling finds the
finish with as few requests as the lag allows instead: the first poll goes at
the ``first_quantile`` of the template's recent durations (``RecentDurations``),
each later one at ``step_quantile`` of what is left of that distribution, and
past the slowest recent clone (or with too little history) the waits grow
by ``backlog_growth`` of the time spent. Once the backlog is gone, the next
wait is the quiet-time one again.

Such a wait is long, and a backlog can end while it runs: then the budget sits
idle while clones wait for polls nobody else needs the requests for (and hold
their admission slots). So a wait the backlog set is waited in hops of at most
``backlog_hop``: at each, the step reads how far the budget's schedule runs
ahead (no Ecwid request) and waits on while the backlog lasts, or polls at once.
bench/burst.py chose the figures and prints the trade (lag per clone against
requests saved).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

HISTORY_SIZE = 10  # how many recent clones of a source speak for the next one
MIN_HISTORY = 5  # fewer than this: no estimate, the plain policy
# Under a backlog the polls go by quantiles of the recent durations: a p90 needs more than ten.
BACKLOG_HISTORY_SIZE = 40
MIN_BACKLOG_HISTORY = 10
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
class RecentDurations:
    """The durations of a template's latest clones, sorted: their distribution, linear
    between the order statistics (so a quantile and its level invert each other)."""

    seconds: tuple[float, ...]

    @classmethod
    def of(
        cls,
        previous_durations: Iterable[object],
        *,
        last: int = BACKLOG_HISTORY_SIZE,
        min_samples: int = MIN_BACKLOG_HISTORY,
    ) -> RecentDurations | None:
        """The first ``last`` usable durations (most recent first, as for
        ``expected_duration``), or None when there are fewer than ``min_samples``."""
        usable = (seconds for seconds in map(_seconds, previous_durations) if seconds is not None)
        recent = sorted(islice(usable, last))
        return cls(tuple(recent)) if len(recent) >= max(2, min_samples) else None

    def quantile(self, level: float) -> float:
        """The duration ``level`` (0..1) of the clones took at most."""
        values = self.seconds
        position = min(1.0, max(0.0, level)) * (len(values) - 1)
        index = min(int(position), len(values) - 2)
        return values[index] + (values[index + 1] - values[index]) * (position - index)

    def level(self, seconds: float) -> float:
        """The share of clones done within ``seconds``: the inverse of ``quantile``."""
        values = self.seconds
        if seconds <= values[0]:
            return 0.0
        if seconds >= values[-1]:
            return 1.0
        index = bisect.bisect_right(values, seconds) - 1  # values[index] <= seconds < values[index + 1]
        return (index + (seconds - values[index]) / (values[index + 1] - values[index])) / (len(values) - 1)

    def within(self, low: float, high: float, draw: float) -> float:
        """A duration for a clone known to have finished after ``low`` and by ``high``:
        the one at ``draw`` (0..1) of this distribution between the two.

        Under a backlog most clones are seen by one late poll, so only the
        bracket is known. Recording its end would make the next clones' quantiles
        creep later with every burst; drawn from the distribution within the
        bracket, the recorded durations keep the shape of the real ones, and the
        share of clones in each bracket stays what the polls saw.
        """
        draw = min(1.0, max(0.0, draw))
        low_level, high_level = self.level(low), self.level(high)
        if high_level > low_level:
            estimate = self.quantile(low_level + draw * (high_level - low_level))
        else:  # no recent clone finished in the bracket: spread evenly over it
            estimate = low + draw * (high - low)
        return min(high, max(low, estimate))

    def to_state(self) -> list[int]:
        return [round(seconds) for seconds in self.seconds]  # whole seconds: the state stays small


@dataclass(frozen=True)
class PollingPolicy:
    first_wait: float = 60.0  # no clone finishes sooner than about a minute
    min_interval: float = 15.0
    growth: float = 0.15  # each wait is at most this share of the time spent so far
    max_interval: float = 240.0
    # Under a backlog (bench/burst.py chose these: its --sweep prints the trade).
    backlog_seconds: float = 10.0  # the budget.s schedule runs this far ahead of now: a backlog
    first_quantile: float = 0.9
    step_quantile: float = 0.8
    backlog_growth: float = 0.5
    backlog_hop: float = 120.0  # a wait the backlog set is waited in hops of this, looking at the budget

    def under_backlog(self, backlog: float) -> bool:
        """Whether a budget whose schedule runs ``backlog`` seconds ahead sets the next wait."""
        return backlog >= self.backlog_seconds

    def next_wait(
        self,
        attempt: int,
        elapsed: float,
        expected: float | None = None,
        *,
        backlog: float = 0.0,
        durations: RecentDurations | None = None,
    ) -> float:
        """Seconds to wait before status poll number ``attempt + 1``.

        ``attempt`` is the number of polls made so far, ``elapsed`` the
        seconds since the clone was started, ``expected`` the clone's E from
        ``expected_duration`` (None, or not a positive number: no history),
        ``backlog`` how far ahead of now the request budget's schedule ran when
        this step booked (0: clear), ``durations`` the template's recent ones.
        """
        if self.under_backlog(backlog):
            return self._backlog_wait(attempt, elapsed, durations)
        if attempt <= 0:
            first_look = self.first_wait
            if (earliest := _seconds(expected)) is not None:
                # Any finish after E is still seen within what the plain policy allows.
                first_look = max(first_look, earliest + max(self.min_interval, self.growth * earliest))
            return max(0.0, first_look - elapsed)
        return min(self.max_interval, max(self.min_interval, self.growth * elapsed))

    def _backlog_wait(self, attempt: int, elapsed: float, durations: RecentDurations | None) -> float:
        if durations is not None and (done := durations.level(elapsed)) < 1.0:
            if attempt <= 0:  # the first poll at a high quantile
                return max(0.0, max(self.first_wait, durations.quantile(self.first_quantile)) - elapsed)
            # Each later one at a share of what is left; never before the first quantile (a
            # clone whose quiet-time polls came early, when the backlog began).
            level = max(self.first_quantile, done + self.step_quantile * (1.0 - done))
            return max(self.min_interval, durations.quantile(level) - elapsed)
        if attempt <= 0:
            return max(0.0, self.first_wait - elapsed)
        # Slower than every recent clone, or no history: waits that grow faster than quiet ones.
        return min(self.max_interval, max(self.min_interval, self.backlog_growth * elapsed))


def learned_duration(
    seen: float, running_seen: float, backlog_wait: bool, durations: RecentDurations | None, draw: float
) -> float:
    """The duration the next clones of a template learn from, for one that was seen
    COMPLETED ``seen`` seconds after its start.

    Quiet-time polls see the finish within max(15 s, 15 %): the poll that saw it is
    the duration (as ``expected_duration`` expects). A wait the backlog set
    (``backlog_wait``) only brackets the finish, between the last poll that saw the
    clone running (``running_seen``) and this one: then the duration at ``draw``
    (0..1) of the recent ones within the bracket (``RecentDurations.within``), or
    of the bracket itself without history.
    """
    if not backlog_wait:
        return seen
    if durations is None:
        return running_seen + min(1.0, max(0.0, draw)) * (seen - running_seen)
    return durations.within(running_seen, seen, draw)


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
