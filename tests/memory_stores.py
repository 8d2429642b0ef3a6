"""In-memory stores for fast tests and the burst simulation: the part of JobsRepository and
MappingStore the orchestration steps use, the admission slots and the request budget, each with
the same contract as its DynamoDB class (tests/unit/test_memory_stores.py
runs one set of tests against these and against the DynamoDB classes on moto).

They live under tests/, never in the shipped layer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ecwid_cloner.admission.control import ACQUIRED, ALREADY_HELD, Line
from ecwid_cloner.data.job import STATUS_RANK, Job, iso_utc
from ecwid_cloner.data.mappings import mapping_key
from ecwid_cloner.ecwid.budget import Booking, BudgetPolicy, Priority, book
from ecwid_cloner.models import CloneRequest


class MemoryJobs:
    """JobsRepository's item semantics in a dict: written once, moving only forward."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self._clock = clock

    def get(self, clone_id: str) -> Job | None:
        item = self.items.get(clone_id)
        return Job(item) if item is not None else None

    def record_intent(
        self, clone_id: str, request: CloneRequest, origin: Mapping[str, Any] | None = None
    ) -> tuple[Job, bool]:
        existing = self.get(clone_id)
        if existing is not None:
            return existing, False
        now = iso_utc()
        item: dict[str, Any] = {
            **request.to_item(),
            "cloneId": clone_id,
            "intentId": uuid.uuid4().hex,
            "status": "STARTING",
            "polls": 0,
            "createdAt": now,
            "updatedAt": now,
        }
        item.update(origin or {})
        if request.instant_site_draft is not None:
            item["instantSite"] = {"draft": request.instant_site_draft, "status": "PENDING"}
        if request.personalize:
            item["profile"] = {"status": "PENDING"}
        self.items[clone_id] = item
        return Job(item), True

    def advance(self, clone_id: str, status: str, **attributes: Any) -> bool:
        item = self.items.get(clone_id)
        if item is None:
            return False
        current = item["status"]
        if not (STATUS_RANK[current] < STATUS_RANK[status] or current == status):
            return False
        item.update(attributes, status=status, updatedAt=iso_utc())
        return True

    def begin_post(self, clone_id: str) -> int:
        return self._count(clone_id, "postAttempts")

    def begin_store_create(self, clone_id: str) -> int:
        item = self.items.setdefault(clone_id, {"cloneId": clone_id})
        item.setdefault("storeCreateFirstPostAt", Decimal(str(round(self._clock(), 3))))
        return self._count(clone_id, "storeCreateAttempts")

    def _count(self, clone_id: str, attribute: str) -> int:
        item = self.items.setdefault(clone_id, {"cloneId": clone_id})  # DynamoDB's ADD makes the item too
        earlier = int(item.get(attribute, 0))
        item[attribute] = earlier + 1
        return earlier

    def record_store_create_conflict(self, clone_id: str) -> None:
        item = self._existing(clone_id)
        item.setdefault("storeCreateConflictAt", iso_utc())

    def record_created_store(
        self, clone_id: str, store_id: int, token_saved: bool, *, found_after_lost_answer: bool = False
    ) -> None:
        item = self._existing(clone_id)
        item.update(targetStoreId=store_id, storeCreatedAt=iso_utc(), storeTokenSaved=token_saved)
        if found_after_lost_answer:
            item.update(storeFoundAfterLostAnswer=True, storeTokenUnknown=True)

    def set_instant_site(self, clone_id: str, outcome: dict[str, Any]) -> None:
        self._existing(clone_id)["instantSite"] = outcome

    def set_profile(self, clone_id: str, outcome: dict[str, Any]) -> None:
        self._existing(clone_id)["profile"] = outcome

    def record_event_failure(self, clone_id: str, detail_type: str, error: str) -> None:
        failures = self._existing(clone_id).setdefault("eventFailures", [])
        failures.append({"detailType": detail_type, "error": error[:300], "at": iso_utc(self._clock())})

    def _existing(self, clone_id: str) -> dict[str, Any]:
        if clone_id not in self.items:  # DynamoDB: ConditionalCheckFailedException
            raise KeyError(f"no job {clone_id}")
        return self.items[clone_id]

    def find_by_ticket(self, ticket: str) -> Job | None:
        return next((Job(item) for item in self.items.values() if item.get("ticket") == ticket), None)

    def recent_durations(self, source_store_id: int, scope: str | None, limit: int = 10) -> list[float]:
        # The source index holds only jobs with a finishedAt; newest finish first.
        finished = sorted(
            (
                item
                for item in self.items.values()
                if item.get("sourceStoreId") == source_store_id and "finishedAt" in item
            ),
            key=lambda item: item["finishedAt"],
            reverse=True,
        )[: limit * 3]
        return [
            float(item["cloneSeconds"] if "cloneSeconds" in item else item["durationSeconds"])
            for item in finished
            if item.get("status") == "COMPLETED"
            and item.get("scope") == scope
            and ("cloneSeconds" in item or "durationSeconds" in item)
        ][:limit]


class MemoryMappings:
    """MappingStore in a dict: source -> target per target store and entity, the latest write winning."""

    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}

    def write(
        self, clone_id: str, target_store_id: int, mapping_by_entity: Mapping[str, Mapping[str, str]]
    ) -> dict[str, int]:
        for entity, mapping in mapping_by_entity.items():
            for source_id, target_id in mapping.items():
                self.by_key[mapping_key(target_store_id, entity, str(source_id))] = str(target_id)
        return {entity: len(mapping) for entity, mapping in mapping_by_entity.items()}

    def get(self, target_store_id: int, entity: str, source_id: str) -> str | None:
        return self.by_key.get(mapping_key(target_store_id, entity, source_id))


class MemorySlotStore:
    """The same contract in memory: for the burst simulation."""

    def __init__(self) -> None:
        self.arrivals = 0
        self.passed = 0
        self.holders: dict[str, float] = {}
        self.skipped: set[int] = set()

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

    def skip(self, number: int, now: float) -> bool:
        if number in self.skipped:
            return False
        self.skipped.add(number)
        self.passed += 1
        return True


class MemoryBudgetStore:
    """The same contract in memory (one thread): for the burst simulation."""

    def __init__(self) -> None:
        self.tat: float | None = None

    def book(self, now: float, policy: BudgetPolicy, priority: Priority, count: int) -> Booking:
        new_tat, booking = book(self.tat, now, policy, priority, count)
        if new_tat is not None:
            self.tat = new_tat
        return booking

    def lead(self, now: float) -> float:
        return 0.0 if self.tat is None else max(0.0, self.tat - now)
