"""Faults the sandbox can inject, switched on by tests while it runs.

Tests set plain dataclass fields (`sandbox.faults.post.error_5xx_rate = 1.0`); the
server asks `Faults` for a draw on every clone request: "post" and "get" for the two
Clone Store API calls, "instant_site" for the Instant Site calls (token, clone, profile),
"create_store" for POST /api/v3/stores, "profile" for GET/PUT /api/v3/{storeId}/profile, "reseller" for every
Reseller API call. Draws come from one seeded
generator behind a lock, so a run with the same seed and the same request order
injects the same faults. A rate of 0 draws nothing, so switching one fault on does
not change the draws of another.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass, field
from typing import Any

# Kinds of per-request fault, drawn in this order; the first hit wins.
DROP = "drop"
ERROR_5XX = "5xx"
RATE_429 = "429"
MALFORMED = "malformed"
SLOW = "slow"
ERROR_CODE = "error_code"

ENDPOINTS = (
    "post",
    "get",
    "instant_site",
    "create_store",
    "profile",
    "reseller",
)  # the EndpointFaults fields of Faults
ANSWER_LOST = "answer_lost"


@dataclass
class EndpointFaults:
    error_5xx_rate: float = 0.0  # answer 500/502/503 with a plain-text or HTML body
    rate_429: float = 0.0  # answer 429, with Retry-After: retry_after_seconds
    retry_after_seconds: int | None = 1  # None = a 429 without Retry-After
    slow_rate: float = 0.0  # sleep slow_seconds, then answer normally
    slow_seconds: float = 5.0
    drop_rate: float = 0.0  # close the connection without a response
    malformed_rate: float = 0.0  # 200 with a body that is not JSON
    # create_store only: the store is made, then the connection closes without an answer.
    answer_lost_rate: float = 0.0
    # Clone Store POST only: errorCodes answered next, one per request that passes pre-flight.
    error_codes: list[str] = field(default_factory=list)


@dataclass
class Faults:
    post: EndpointFaults = field(default_factory=EndpointFaults)
    get: EndpointFaults = field(default_factory=EndpointFaults)
    instant_site: EndpointFaults = field(default_factory=EndpointFaults)  # error_codes unused
    create_store: EndpointFaults = field(default_factory=EndpointFaults)  # POST /stores; error_codes unused
    profile: EndpointFaults = field(default_factory=EndpointFaults)  # GET/PUT /{storeId}/profile; error_codes unused
    reseller: EndpointFaults = field(default_factory=EndpointFaults)  # the Reseller API; error_codes unused
    failed_ticket_rate: float = 0.0  # new tickets end FAILED instead of COMPLETED
    stuck_ticket_rate: float = 0.0  # new tickets stay IN_PROGRESS forever
    # e.g. {"post.5xx": 3, "instant_site.429": 1, "ticket.failed": 1}
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Plain attributes, not fields: dataclasses.asdict/replace keep working.
        self._lock = threading.Lock()
        self._rng = random.Random(1)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng.seed(seed)

    def reset(self) -> None:
        """Everything off, queues emptied, counters zeroed (same dict object)."""
        with self._lock:
            self.post = EndpointFaults()
            self.get = EndpointFaults()
            self.instant_site = EndpointFaults()
            self.create_store = EndpointFaults()
            self.profile = EndpointFaults()
            self.reseller = EndpointFaults()
            self.failed_ticket_rate = 0.0
            self.stuck_ticket_rate = 0.0
            self.counts.clear()

    # ---- draws used by the server --------------------------------------------

    def endpoint(self, name: str) -> EndpointFaults:
        """The faults of "post", "get", "instant_site", "create_store" or "reseller"."""
        if name not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {name!r}")
        return getattr(self, name)

    def draw_slow(self, name: str) -> float | None:
        """Seconds to sleep before answering, or None."""
        ep = self.endpoint(name)
        if self._hit(ep.slow_rate):
            self._count(f"{name}.{SLOW}")
            return max(0.0, float(ep.slow_seconds))
        return None

    def draw_answer_lost(self, name: str) -> bool:
        """Whether the work is done but its answer never sent (create_store)."""
        if self._hit(self.endpoint(name).answer_lost_rate):
            self._count(f"{name}.{ANSWER_LOST}")
            return True
        return False

    def draw_request_fault(self, name: str) -> str | None:
        """One of DROP, ERROR_5XX, RATE_429, MALFORMED, or None."""
        ep = self.endpoint(name)
        for kind, rate in (
            (DROP, ep.drop_rate),
            (ERROR_5XX, ep.error_5xx_rate),
            (RATE_429, ep.rate_429),
            (MALFORMED, ep.malformed_rate),
        ):
            if self._hit(rate):
                self._count(f"{name}.{kind}")
                return kind
        return None

    def pop_error_code(self) -> str | None:
        """The next queued POST errorCode, consumed."""
        with self._lock:
            if not self.post.error_codes:
                return None
            code = self.post.error_codes.pop(0)
            self.counts["post.error_code"] = self.counts.get("post.error_code", 0) + 1
            return code

    def draw_ticket_outcome(self) -> str | None:
        """FAILED, STUCK or None (completes normally) for a new ticket."""
        if self._hit(self.failed_ticket_rate):
            self._count("ticket.failed")
            return "FAILED"
        if self._hit(self.stuck_ticket_rate):
            self._count("ticket.stuck")
            return "STUCK"
        return None

    def choice(self, options: list[Any]) -> Any:
        with self._lock:
            return self._rng.choice(options)

    # ---- the admin endpoint --------------------------------------------------

    def update(self, data: dict) -> None:
        """Set fields from JSON (nested "post"/"get"/"instant_site"); "reset": true starts from all-off.

        Raises ValueError naming the first unknown or mistyped field, before changing anything.
        """
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        data = dict(data)
        reset = data.pop("reset", False)
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            if key in ENDPOINTS:
                if not isinstance(value, dict):
                    raise ValueError(f"{key} must be an object")
                if key in ("instant_site", "create_store", "profile", "reseller") and "error_codes" in value:
                    raise ValueError(f"{key}.error_codes: errorCodes are for the Clone Store POST only")
                if key != "create_store" and "answer_lost_rate" in value:
                    raise ValueError(f"{key}.answer_lost_rate: lost answers are for create_store only")
                nested[key] = {k: _check(EndpointFaults, f"{key}.{k}", k, v) for k, v in value.items()}
            elif key in ("failed_ticket_rate", "stuck_ticket_rate"):
                top[key] = _check(Faults, key, key, value)
            else:
                raise ValueError(f"unknown fault field {key!r}")
        if reset:
            self.reset()
        for key, value in top.items():
            setattr(self, key, value)
        for name, values in nested.items():
            for key, value in values.items():
                setattr(self.endpoint(name), key, value)

    def to_dict(self) -> dict:
        with self._lock:
            return dataclasses.asdict(self)

    # ---- internals -------------------------------------------------------------

    def _hit(self, rate: float) -> bool:
        if not rate or rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1


def _check(cls: type, label: str, name: str, value: Any) -> Any:
    """Validate one JSON value against a field of cls."""
    names = {f.name for f in dataclasses.fields(cls)} - {*ENDPOINTS, "counts"}
    if name not in names:
        raise ValueError(f"unknown fault field {label!r}")
    if name == "error_codes":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{label} must be a list of strings")
        return list(value)
    if name == "retry_after_seconds":
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        raise ValueError(f"{label} must be a non-negative integer or null")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{label} must be a non-negative number")
    if name.endswith("rate") or name.endswith("_429"):
        if value > 1:
            raise ValueError(f"{label} must be between 0 and 1")
    return float(value)
