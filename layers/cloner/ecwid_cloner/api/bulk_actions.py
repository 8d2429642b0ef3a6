"""Bulk actions: retry or cancel every clone a filter matches, in the background.

``POST /clones/bulk`` counts what the filter matches (a dry run stops there) and starts one
execution of the bulk state machine; its BulkWorker acts on one page of the jobs table's
status index per run, at a pace Step Functions' quotas take (StartExecution for retries,
StopExecution for cancels), and keeps the counts and its place on the bulk's record (in the
coordination table). Every action is idempotent per clone, and a page is applied once: a
worker run that dies is retried from the same place, and what it already did counts as done.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecwid_cloner.api.operator_actions import CloneCancellations, CloneRetries
from ecwid_cloner.data.job import FINAL_STATUSES, RETRYABLE_STATUSES, STATUS_RANK, iso_utc, plain
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.errors import ActionRefused
from ecwid_cloner.models import BulkStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BULK_PREFIX = "bulk#"
BULK_KEPT_SECONDS = 90 * 86400  # a bulk's record, for GET /clones/bulk/{bulkId} and its request ID's repeats
# The statuses each action applies to.
ACTION_STATUSES: dict[str, frozenset[str]] = {
    "cancel": frozenset(STATUS_RANK) - FINAL_STATUSES,
    "retry": RETRYABLE_STATUSES,
}


@dataclass(frozen=True)
class BulkFilter:
    status: str
    errorCode: str | None = None
    sourceStoreId: int | None = None
    targetStoreId: int | None = None
    since: str | None = None  # as createdAt is written (jobs.iso_utc)

    def query(self, action: str) -> dict[str, Any]:
        """The jobs repository's filters for this action (a retry leaves clones retried already)."""
        return {
            "since": self.since,
            "target_store_id": self.targetStoreId,
            "source_store_id": self.sourceStoreId,
            "error_code": self.errorCode,
            "not_retried": action == "retry",
        }

    def to_item(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> BulkFilter:
        return cls(**plain(dict(item)))


def bulk_id_for(request_id: str | None) -> str:
    """The bulk's ID, also its execution's name: the same request ID, the same bulk."""
    if request_id is None:
        return f"bulk-{uuid.uuid4().hex[:24]}"
    return f"bulk-{hashlib.sha256(request_id.encode()).hexdigest()[:24]}"


class BulkRecords:
    """One item per bulk in the coordination table (key ``name`` = "bulk#<bulkId>")."""

    def __init__(self, table: Table):
        self._table = table  # a boto3 DynamoDB Table resource

    def create(self, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Write it unless a bulk of that ID exists; (the record as stored, whether this call wrote it)."""
        item = {"name": BULK_PREFIX + record["bulkId"], **record}
        try:
            self._table.put_item(
                Item=item, ConditionExpression="attribute_not_exists(#name)", ExpressionAttributeNames={"#name": "name"}
            )
            return record, True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        existing = self.get(record["bulkId"])
        assert existing is not None
        return existing, False

    def get(self, bulk_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"name": BULK_PREFIX + bulk_id}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        record = dict(item)
        del record["name"]
        return record

    def plan(self, bulk_id: str, page: int, clone_ids: list[str], cursor: dict[str, Any] | None) -> None:
        """Keep the page's clones before acting on them: a run that dies half way is retried on
        the very same clones (the ones it acted on may have left the page's status by then)."""
        self._table.update_item(
            Key={"name": BULK_PREFIX + bulk_id},
            UpdateExpression="SET pendingPage = :page, pending = :ids, pendingCursor = :cursor",
            ConditionExpression="page = :page",
            ExpressionAttributeValues={":page": page, ":ids": clone_ids, ":cursor": _cursor_text(cursor)},
        )

    def advance(self, bulk_id: str, page: int, counts: Mapping[str, int]) -> bool:
        """Add the planned page's counts and move to the next page, once: only from page ``page``."""
        record = self.get(bulk_id) or {}
        cursor = record.get("pendingCursor")
        sets = ["page = :next", "updatedAt = :now", "#cursor = :cursor"] + [f"{k} = {k} + :{k}" for k in counts]
        values: dict[str, Any] = {":page": page, ":next": page + 1, ":now": iso_utc(), ":cursor": cursor}
        values.update({f":{name}": count for name, count in counts.items()})
        names = {"#cursor": "cursor"}
        if not cursor:  # the last page
            sets += ["#status = :completed", "finishedAt = :now"]
            values[":completed"] = BulkStatus.COMPLETED
            names["#status"] = "status"
        try:
            self._table.update_item(
                Key={"name": BULK_PREFIX + bulk_id},
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE pending, pendingPage, pendingCursor",
                ConditionExpression="page = :page",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False  # a retried run whose first try got this far
            raise


def _cursor_text(cursor: dict[str, Any] | None) -> str:
    """The status index's LastEvaluatedKey as text ("" on the last page)."""
    return json.dumps(plain(cursor), sort_keys=True) if cursor else ""


def public_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """What GET /clones/bulk/{bulkId} shows."""
    names = (
        "bulkId",
        "action",
        "filter",
        "status",
        "matched",
        "done",
        "failed",
        "skipped",
        "requestId",
        "requestedBy",
        "createdAt",
        "finishedAt",
    )
    return {name: plain(record.get(name)) for name in names}


@dataclass
class BulkActions:
    """The API's side: count, start, read."""

    jobs: JobsRepository
    records: BulkRecords
    start_execution: Callable[[str], None]  # starts the bulk state machine's execution named after the bulk

    def dry_run(self, action: str, bulk_filter: BulkFilter) -> dict[str, Any]:
        matched, sample = self.jobs.count_by_status(bulk_filter.status, **bulk_filter.query(action))
        return {"matched": matched, "sample": sample}

    def start(
        self, action: str, bulk_filter: BulkFilter, *, request_id: str | None, by: str
    ) -> tuple[dict[str, Any], bool]:
        """Count, record and start the bulk (once per request ID); (its record, whether this call started it)."""
        bulk_id = bulk_id_for(request_id)
        existing = self.records.get(bulk_id)
        if existing is not None:
            self.start_execution(bulk_id)  # harmless when it runs; heals a call that died before
            return existing, False
        matched, _ = self.jobs.count_by_status(bulk_filter.status, **bulk_filter.query(action))
        record = {
            "bulkId": bulk_id,
            "action": action,
            "filter": bulk_filter.to_item(),
            "status": BulkStatus.RUNNING,
            "matched": matched,
            "done": 0,
            "failed": 0,
            "skipped": 0,
            "page": 0,
            "cursor": "",
            "requestedBy": by,
            "createdAt": iso_utc(),
            "expiresAt": int(time.time()) + BULK_KEPT_SECONDS,  # the coordination table's TTL
            **({"requestId": request_id} if request_id else {}),
        }
        record, created = self.records.create(record)
        self.start_execution(bulk_id)
        return record, created


@dataclass
class BulkWorker:
    """One run acts on one page, then says how long to wait before the next (the pace)."""

    jobs: JobsRepository
    records: BulkRecords
    retries: CloneRetries
    cancellations: CloneCancellations
    per_second: float = 20.0  # actions a second: within StartExecution's and StopExecution's quotas
    page_size: int = 50
    time_scale: float = 1.0  # < 1 on the local stack, whose waits are all shrunk alike
    clock: Callable[[], float] = field(default=time.monotonic)

    def run(self, bulk_id: str) -> dict[str, Any]:
        record = self.records.get(bulk_id)
        if record is None or record["status"] != BulkStatus.RUNNING:
            return {"bulkId": bulk_id, "done": True}
        started = self.clock()
        action, page_number = str(record["action"]), int(record["page"])
        if record.get("pendingPage") is not None and int(record["pendingPage"]) == page_number:
            clone_ids = [str(clone_id) for clone_id in record.get("pending") or []]  # a run that died: again
            last_key = json.loads(record["pendingCursor"]) if record.get("pendingCursor") else None
        else:
            bulk_filter = BulkFilter.from_item(record["filter"])
            cursor = json.loads(record["cursor"]) if record.get("cursor") else None
            page, last_key = self.jobs.list_by_status(
                bulk_filter.status, **bulk_filter.query(action), limit=self.page_size, start_key=cursor
            )
            clone_ids = [job.clone_id for job in page]
            self.records.plan(bulk_id, page_number, clone_ids, last_key)
        counts = {"done": 0, "failed": 0, "skipped": 0}
        failures = []
        for clone_id in clone_ids:
            try:
                counts[self._act(action, bulk_id, clone_id)] += 1
            except Exception as exc:  # one clone's trouble must not stop the others: counted, and reported
                counts["failed"] += 1
                failures.append({"cloneId": clone_id, "error": f"{type(exc).__name__}: {exc}"[:300]})
        self.records.advance(bulk_id, page_number, counts)
        answer: dict[str, Any] = {"bulkId": bulk_id, "done": last_key is None, "counts": counts}
        if failures:
            answer["failures"] = failures
        if last_key is not None:
            pace = len(clone_ids) / self.per_second - (self.clock() - started)
            answer["waitSeconds"] = max(0, round(pace * self.time_scale))
        return answer

    def _act(self, action: str, bulk_id: str, clone_id: str) -> str:
        """done, or skipped: the action does not apply to the clone (any more), or not as it stands."""
        by = f"bulk {bulk_id}"
        try:
            if action == "cancel":
                cancelled, changed = self.cancellations.cancel(clone_id, reason=None, by=by)
                # Cancelled by this bulk's earlier run of the page (retried) counts as done too.
                return "done" if changed or cancelled.get("cancelledBy") == by else "skipped"
            self.retries.retry(clone_id, request_id=bulk_id)  # this bulk's own earlier retry: the same attempt
            return "done"
        except ActionRefused:
            return "skipped"
