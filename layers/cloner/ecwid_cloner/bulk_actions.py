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
from typing import Any

from botocore.exceptions import ClientError

from ecwid_cloner.jobs import FINAL_STATUSES, RETRYABLE_STATUSES, STATUS_RANK, Job, JobsRepository, iso_utc, plain
from ecwid_cloner.operator_actions import ActionRefused, CloneCancellations, CloneRetries

BULK_PREFIX = "bulk#"
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

    def __init__(self, table: Any):
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

    def advance(self, bulk_id: str, page: int, counts: Mapping[str, int], cursor: dict | None) -> bool:
        """Add a page's counts and move to the next page, once: only from page ``page``."""
        sets = ["page = :next", "updatedAt = :now"] + [f"{name} = {name} + :{name}" for name in counts]
        values: dict[str, Any] = {
            ":page": page,
            ":next": page + 1,
            ":now": iso_utc(),
            **{f":{k}": v for k, v in counts.items()},
        }
        if cursor is None:
            sets += ["#status = :completed", "finishedAt = :now"]
            values[":completed"] = "COMPLETED"
            removes = " REMOVE #cursor"
        else:
            sets.append("#cursor = :cursor")
            values[":cursor"] = json.dumps(plain(cursor), sort_keys=True)
            removes = ""
        try:
            self._table.update_item(
                Key={"name": BULK_PREFIX + bulk_id},
                UpdateExpression="SET " + ", ".join(sets) + removes,
                ConditionExpression="page = :page",
                ExpressionAttributeNames={"#status": "status", "#cursor": "cursor"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False  # a retried run whose first try got this far
            raise


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
            "status": "RUNNING",
            "matched": matched,
            "done": 0,
            "failed": 0,
            "skipped": 0,
            "page": 0,
            "requestedBy": by,
            "createdAt": iso_utc(),
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
        if record is None or record["status"] != "RUNNING":
            return {"bulkId": bulk_id, "done": True}
        started = self.clock()
        action, bulk_filter = str(record["action"]), BulkFilter.from_item(record["filter"])
        cursor = json.loads(record["cursor"]) if record.get("cursor") else None
        page, last_key = self.jobs.list_by_status(
            bulk_filter.status, **bulk_filter.query(action), limit=self.page_size, start_key=cursor
        )
        counts = {"done": 0, "failed": 0, "skipped": 0}
        failures = []
        for job in page:
            try:
                counts[self._act(action, bulk_id, job)] += 1
            except Exception as exc:  # one clone's trouble must not stop the others: counted, and reported
                counts["failed"] += 1
                failures.append({"cloneId": job.clone_id, "error": f"{type(exc).__name__}: {exc}"[:300]})
        self.records.advance(bulk_id, int(record["page"]), counts, last_key)
        answer: dict[str, Any] = {"bulkId": bulk_id, "done": last_key is None, "counts": counts}
        if failures:
            answer["failures"] = failures
        if last_key is not None:
            pace = len(page) / self.per_second - (self.clock() - started)
            answer["waitSeconds"] = max(0, round(pace * self.time_scale))
        return answer

    def _act(self, action: str, bulk_id: str, job: Job) -> str:
        """done, or skipped: the action does not apply to the clone (any more), or not as it stands."""
        by = f"bulk {bulk_id}"
        try:
            if action == "cancel":
                cancelled, changed = self.cancellations.cancel(job.clone_id, reason=None, by=by)
                # Cancelled by this bulk's earlier run of the page (retried) counts as done too.
                return "done" if changed or cancelled.get("cancelledBy") == by else "skipped"
            self.retries.retry(job.clone_id, request_id=bulk_id)  # this bulk's own earlier retry: the same attempt
            return "done"
        except ActionRefused:
            return "skipped"
