"""When to ask Ecwid again: the polling policy, a pure function.

A clone takes 1 to 15 minutes, so the first look comes at the earliest
likely finish. After that, the wait grows with the time already spent: a
finish at time T is seen at most max(min_interval, growth * T) late, and a
900 s clone costs about 20 polls instead of 30 for a fixed 30 s poller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PollingPolicy:
    first_wait: float = 60.0  # no clone finishes sooner than about a minute
    min_interval: float = 15.0
    growth: float = 0.15  # each wait is at most this share of the time spent so far
    max_interval: float = 240.0

    def next_wait(self, attempt: int, elapsed: float) -> float:
        """Seconds to wait before status poll number ``attempt + 1``.

        ``attempt`` is the number of polls made so far, ``elapsed`` the
        seconds since the clone was started.
        """
        if attempt <= 0:
            return max(0.0, self.first_wait - elapsed)
        return min(self.max_interval, max(self.min_interval, self.growth * elapsed))


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
