"""The rate limit every API of the sandbox shares: one sliding window per app, as Ecwid counts."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    """A sliding window per app (its client id), as Ecwid counts: every request that
    passes counts, whatever it is then answered; rejected requests take no slot.

    It also keeps the time of every request it let through, so that a test can
    read the busiest window (``peak``), rate limit on or off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._passed: dict[str, list[float]] = {}

    def check(self, key: str, limit: int | None, window: float) -> int | None:
        """None if the request may go on, else the seconds until a slot frees."""
        with self._lock:
            now = time.monotonic()  # under the lock: the windows stay in time order
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if limit is not None and len(hits) >= limit:
                if not hits:  # limit 0: nothing ever passes
                    return max(1, math.ceil(window))
                return max(1, math.ceil(hits[0] + window - now))
            hits.append(now)
            self._passed.setdefault(key, []).append(now)
            return None

    def peak(self, key: str, window: float) -> int:
        """The most requests of ``key`` let through within any ``window`` seconds."""
        with self._lock:
            times = sorted(self._passed.get(key, ()))
        start, best = 0, 0
        for end, at in enumerate(times):  # appended in time order
            while times[start] <= at - window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset_history(self) -> None:
        with self._lock:
            self._passed.clear()
