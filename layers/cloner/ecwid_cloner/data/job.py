"""A clone's job as the pipeline reads it: the item, its typed properties, the order its
statuses move in, and how the jobs table writes times and numbers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ecwid_cloner.models import CloneRequest, Entity, JobStatus, Merchant, StoreActionStatus

if TYPE_CHECKING:
    pass

# Status order: a job may move only to a later rank, so a late or repeated
# update can never turn a COMPLETED job back into IN_PROGRESS.
STATUS_RANK: dict[str, int] = {
    JobStatus.STARTING: 0,
    JobStatus.WAITING: 1,
    JobStatus.CREATING_STORE: 2,
    JobStatus.QUEUED: 3,
    JobStatus.IN_PROGRESS: 4,
    JobStatus.COMPLETED: 5,
    JobStatus.FAILED: 5,
    JobStatus.TIMED_OUT: 5,
    JobStatus.CANCELLED: 5,
}
FINAL_STATUSES = frozenset(status for status, rank in STATUS_RANK.items() if rank == max(STATUS_RANK.values()))
# An operator may start a new attempt of these.
RETRYABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELLED})


def iso_utc(moment: datetime | float | None = None) -> str:
    """A moment (now, an epoch or a datetime; one without a zone is UTC) as the jobs table
    writes its times: UTC, milliseconds, Z. Written alike, they compare as text."""
    if moment is None:
        moment = datetime.now(UTC)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as JSON numbers (ints where whole), in dicts and lists too."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class Job(Mapping[str, Any]):
    """One clone's item in the jobs table. The code reads it through the typed
    properties; as a Mapping it is the item itself (the API and the events show
    fields of it, numbers as DynamoDB returns them: ``plain`` makes them JSON)."""

    __slots__ = ("_item",)

    def __init__(self, item: Mapping[str, Any]):
        self._item = dict(item)

    def __getitem__(self, name: str) -> Any:
        return self._item[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._item)

    def __len__(self) -> int:
        return len(self._item)

    def __repr__(self) -> str:
        return f"Job({self._item!r})"

    @property
    def clone_id(self) -> str:
        return str(self._item["cloneId"])

    @property
    def status(self) -> str:
        return str(self._item["status"])

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def source_store_id(self) -> int:
        return int(self._item["sourceStoreId"])

    @property
    def target_store_id(self) -> int | None:
        target = self._item.get("targetStoreId")
        return int(target) if target is not None else None

    @property
    def scope(self) -> str | None:
        return self._item.get("scope")

    @property
    def ticket(self) -> str | None:
        return self._item.get("ticket")

    @property
    def started_at_epoch(self) -> float | None:
        started = self._item.get("startedAtEpoch")
        return float(started) if started is not None else None

    @property
    def counts(self) -> dict[str, int]:
        """How many products and categories were mapped (0 before COMPLETED)."""
        return {entity: int(self._item.get(entity, 0)) for entity in Entity}

    @property
    def failure(self) -> dict[str, Any]:
        return {"errorCode": self._item.get("errorCode"), "errorMessage": self._item.get("errorMessage")}

    @property
    def store_token_saved(self) -> bool:
        return bool(self._item.get("storeTokenSaved"))

    @property
    def merchant(self) -> Merchant | None:
        merchant = self._item.get("merchant")
        return Merchant.from_item(merchant) if isinstance(merchant, Mapping) else None

    @property
    def attempt(self) -> int:
        """1 for a clone as asked; n for the (n-1)th retry of it."""
        return int(self._item.get("attempt", 1))

    @property
    def retry_root(self) -> str:
        """The clone ID of the first attempt: every retry's ID is made from it."""
        return str(self._item.get("retryRoot") or self.clone_id)

    @property
    def error_code(self) -> str | None:
        return self._item.get("errorCode")

    @property
    def store_create_first_post_at(self) -> float | None:
        """Epoch seconds just before this job's first store-creation POST."""
        moment = self._item.get("storeCreateFirstPostAt")
        return float(moment) if moment is not None else None

    @property
    def store_create_conflict(self) -> bool:
        """Ecwid answered 409 after an earlier POST of this job: its store is to be found."""
        return self._item.get("storeCreateConflictAt") is not None

    def store_action_done(self, action: str) -> bool:
        """Whether Ecwid did ``action`` (suspend, resume, delete) to the clone's store, as last recorded."""
        recorded = self._item.get("storeAction") or {}
        return recorded.get("action") == action and recorded.get("status") == StoreActionStatus.DONE

    @property
    def slot_number(self) -> int | None:
        number = self._item.get("slotNumber")
        return int(number) if number is not None else None

    def request(self) -> CloneRequest:
        """The clone it was asked for (the item keeps the request's fields)."""
        return CloneRequest.from_item(self._item)

    def is_same_clone(self, request: CloneRequest) -> bool:
        """Whether this job clones what ``request`` asks for: the same source and scope."""
        return self.source_store_id == request.source_store_id and self.scope == request.scope

    def view(self, names: Iterable[str]) -> dict[str, Any]:
        """These fields as JSON (absent ones as null)."""
        return {name: plain(self._item.get(name)) for name in names}


def job_or_none(item: Mapping[str, Any] | None) -> Job | None:
    return Job(item) if item is not None else None
