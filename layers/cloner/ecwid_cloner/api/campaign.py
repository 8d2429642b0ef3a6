"""A campaign as an operator watches it (GET /campaign): the clones by status, the slots in
use against the cap, the line for them, the Ecwid budget being spent, and when the line
will have drained.

Read from what the pipeline already keeps: the jobs' status index (counted by DynamoDB,
``Select=COUNT``), the slots item and the budget item of the coordination table. Rates (Ecwid
requests a minute, clones a minute) are differences between two reads: a watcher samples.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ecwid_cloner.admission.control import MEAN_CLONE_SECONDS, REQUESTS_PER_CLONE
from ecwid_cloner.admission.slot_store import SLOTS_ITEM_NAME
from ecwid_cloner.data.job import FINAL_STATUSES, iso_utc
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.ecwid.budget_store import BOOKED_TOTAL, BUDGET_ITEM_NAME
from ecwid_cloner.models import JobStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RECENT_CLONES = 20  # the newest completed clones whose durations say how long a slot is held


@dataclass(frozen=True)
class CampaignLimits:
    """The stack's settings the figures are read against."""

    max_in_flight: int
    budget_per_minute: float
    budget_burst: int
    time_scale: float = 1.0  # < 1 on the local stack: Ecwid's minute (and every wait) shrunk alike


@dataclass
class CampaignView:
    jobs: JobsRepository
    coordination_table: Table
    limits: CampaignLimits
    clock: Callable[[], float] = field(default=time.time)

    def snapshot(
        self,
        *,
        since: str | None = None,
        source_store_id: int | None = None,
        target_store_id: int | None = None,
        error_code: str | None = None,
    ) -> dict[str, Any]:
        """Counts by status (the filters apply to them only), slots, line, budget and drain."""
        now = self.clock()
        counts = {
            status: self.jobs.count_by_status(
                status,
                since=since,
                source_store_id=source_store_id,
                target_store_id=target_store_id,
                error_code=error_code,
                sample=0,
            )[0]
            for status in JobStatus
        }
        slots = self._item(SLOTS_ITEM_NAME)
        arrivals, passed = _number(slots.get("arrivals")), _number(slots.get("passed"))
        waiting = max(0, int(arrivals - passed))
        budget = self._item(BUDGET_ITEM_NAME)
        tat = budget.get("tat")
        return {
            "at": iso_utc(now),
            "since": since,
            "counts": counts,
            "running": sum(count for status, count in counts.items() if status not in FINAL_STATUSES),
            "slots": {
                "inFlight": int(_number(slots.get("inFlight"))),
                "max": self.limits.max_in_flight,
                "waiting": waiting,
                "arrivals": int(arrivals),
                "passed": int(passed),
            },
            "budget": {
                "perMinute": self.limits.budget_per_minute,
                "burst": self.limits.budget_burst,
                "timeScale": self.limits.time_scale,
                "requestsBooked": int(_number(budget.get(BOOKED_TOTAL))),
                "bookedAheadSeconds": round(max(0.0, float(tat) - now), 3) if tat is not None else 0.0,
            },
            "drain": self._drain(waiting),
        }

    def _drain(self, waiting: int) -> dict[str, Any]:
        """How soon the line is through: clones leave it as fast as the tighter of two limits
        lets them: the budget (each clone costs about REQUESTS_PER_CLONE requests), or the
        slots (each held about as long as the latest clones took)."""
        limits = self.limits
        by_budget = limits.budget_per_minute / REQUESTS_PER_CLONE / limits.time_scale  # clones a real minute
        held = self._recent_clone_seconds()
        by_slots = limits.max_in_flight * 60.0 / held
        per_minute = min(by_budget, by_slots)
        return {
            "seconds": round(waiting / per_minute * 60.0, 1) if waiting else 0.0,
            "clonesPerMinute": round(per_minute, 2),
            "limitedBy": "budget" if by_budget <= by_slots else "slots",
            "slotSeconds": round(held, 1),
        }

    def _recent_clone_seconds(self) -> float:
        """The median duration of the newest completed clones; before any, the sizing's mean."""
        recent, _ = self.jobs.list_by_status(JobStatus.COMPLETED, limit=RECENT_CLONES)
        durations = [float(job["durationSeconds"]) for job in recent if job.get("durationSeconds")]
        if durations:
            return max(0.1, statistics.median(durations))
        return MEAN_CLONE_SECONDS * self.limits.time_scale

    def _item(self, name: str) -> dict[str, Any]:
        return self.coordination_table.get_item(Key={"name": name}).get("Item") or {}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float, Decimal)) else 0.0
