"""The jobs table: one item per clone, moving only forward."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ecwid_cloner.data.job import FINAL_STATUSES, RETRYABLE_STATUSES, STATUS_RANK, Job, iso_utc, job_or_none
from ecwid_cloner.errors import ErrorCode
from ecwid_cloner.models import CloneRequest, JobStatus, StepStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DAY = 86400
# The merchant's personal data on a job: what DELETE /clones/{cloneId}/merchant erases.
PERSONAL_FIELDS = ("merchant", "requestedProfile")


class JobsRepository:
    def __init__(self, table: Table, retention_days: float = 0):
        self._table = table  # a boto3 DynamoDB Table resource
        # A final job expires this long after it ended (DynamoDB's TTL on expiresAt); 0: kept.
        self._retention_seconds = retention_days * DAY

    def get(self, clone_id: str) -> Job | None:
        return job_or_none(self._table.get_item(Key={"cloneId": clone_id}, ConsistentRead=True).get("Item"))

    def record_intent(
        self, clone_id: str, request: CloneRequest, origin: Mapping[str, Any] | None = None
    ) -> tuple[Job, bool]:
        """Create the job as STARTING before Ecwid is called.

        Returns the job and whether this call created it; an existing job is
        returned untouched, so a retried StartClone knows it has been here.
        The item carries this call's own mark: when botocore retries a PutItem
        whose first attempt landed but whose answer was lost, the retry's
        condition fails on our own item, and the mark tells it was this call.
        """
        now = iso_utc()
        intent_id = uuid.uuid4().hex
        # The request whole (the merchant and the profile live here, never in the state machine's
        # state); targetStoreId is absent until CreateStore made the store (a sparse index).
        item: dict[str, Any] = {
            **request.to_item(),
            "cloneId": clone_id,
            "intentId": intent_id,
            "status": JobStatus.STARTING,
            "polls": 0,
            "createdAt": now,
            "updatedAt": now,
        }
        item.update(origin or {})  # requestId or signupId: what the outcome events name
        if request.instant_site_draft is not None:
            item["instantSite"] = {"draft": request.instant_site_draft, "status": StepStatus.PENDING}
        if request.personalize:
            item["profile"] = {"status": StepStatus.PENDING}
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(cloneId)")
            return Job(item), True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        existing = self.get(clone_id)
        if existing is None:
            return Job(item), False
        return existing, existing.get("intentId") == intent_id

    def set_instant_site(self, clone_id: str, outcome: dict[str, Any]) -> None:
        """Record the Instant Site step's outcome; the job's own status stays as it is."""
        self._set_step_outcome(clone_id, "instantSite", outcome)

    def set_profile(self, clone_id: str, outcome: dict[str, Any]) -> None:
        """Record the PersonalizeStore step's outcome; the job's own status stays as it is."""
        self._set_step_outcome(clone_id, "profile", outcome)

    def set_store_action(self, clone_id: str, outcome: dict[str, Any]) -> None:
        """Record what was done to the store the clone created (suspend, resume, delete, keep)."""
        self._set_step_outcome(clone_id, "storeAction", outcome)

    def _set_step_outcome(self, clone_id: str, attribute: str, outcome: dict[str, Any]) -> None:
        self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression="SET #step = :o, updatedAt = :now",
            ConditionExpression="attribute_exists(cloneId)",
            ExpressionAttributeNames={"#step": attribute},
            ExpressionAttributeValues={":o": outcome, ":now": iso_utc()},
        )

    def begin_post(self, clone_id: str) -> int:
        """Count a POST about to be sent; returns how many earlier attempts got this far.

        An earlier attempt may have had its clone accepted by Ecwid before its
        Lambda died: then a busy target is most likely busy with our clone.
        """
        answer = self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression="ADD postAttempts :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_OLD",
        )
        return int(cast(Decimal | int, answer.get("Attributes", {}).get("postAttempts", 0)))

    def begin_store_create(self, clone_id: str) -> int:
        """Count a store-creation POST about to be sent; returns how many earlier attempts got this far.

        Ecwid cannot say which store an e-mail has: a 409 after an earlier POST
        of ours means our own store, whose answer was lost. The first POST's
        moment is kept (storeCreateFirstPostAt): that store was made after it.
        """
        answer = self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression="SET storeCreateFirstPostAt = if_not_exists(storeCreateFirstPostAt, :now) "
            "ADD storeCreateAttempts :one",
            ExpressionAttributeValues={":one": 1, ":now": Decimal(str(round(time.time(), 3)))},
            ReturnValues="UPDATED_OLD",
        )
        return int(cast(Decimal | int, answer.get("Attributes", {}).get("storeCreateAttempts", 0)))

    def record_store_create_conflict(self, clone_id: str) -> None:
        """A 409 after an earlier POST of this job: from now on its runs look the store up, never POST."""
        self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression="SET storeCreateConflictAt = if_not_exists(storeCreateConflictAt, :now), updatedAt = :now",
            ConditionExpression="attribute_exists(cloneId)",
            ExpressionAttributeValues={":now": iso_utc()},
        )

    def record_created_store(
        self, clone_id: str, store_id: int, token_saved: bool, *, found_after_lost_answer: bool = False
    ) -> None:
        """The store CreateStore made: from now on the job's target. ``found_after_lost_answer``:
        its creation answer was lost and the Reseller API found it, so its token is unknown."""
        now = iso_utc()
        sets = "targetStoreId = :t, storeCreatedAt = :now, storeTokenSaved = :saved, updatedAt = :now"
        values: dict[str, Any] = {":t": store_id, ":now": now, ":saved": token_saved}
        if found_after_lost_answer:
            sets += ", storeFoundAfterLostAnswer = :found, storeTokenUnknown = :found"
            values[":found"] = True
        self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression=f"SET {sets}",
            ConditionExpression="attribute_exists(cloneId)",
            ExpressionAttributeValues=values,
        )

    def record_event_failure(self, clone_id: str, detail_type: str, error: str) -> None:
        """An outcome event that could not be published: kept on the job for operators."""
        self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression="SET eventFailures = list_append(if_not_exists(eventFailures, :empty), :failure), updatedAt = :now",
            ConditionExpression="attribute_exists(cloneId)",
            ExpressionAttributeValues={
                ":failure": [{"detailType": detail_type, "error": error[:300], "at": iso_utc()}],
                ":empty": [],
                ":now": iso_utc(),
            },
        )

    def running_for_target(self, target_store_id: int) -> Job | None:
        """The newest job into this target that has not finished, if any."""
        for item in self._newest_into(target_store_id, 10):
            if item["status"] not in FINAL_STATUSES:
                return Job(item)
        return None

    def newest_for_target(self, target_store_id: int) -> Job | None:
        """The newest job into this target, finished or not (read whole, consistently)."""
        newest = self._newest_into(target_store_id, 1)
        return self.get(newest[0]["cloneId"]) if newest else None

    def _newest_into(self, target_store_id: int, limit: int) -> list[dict[str, Any]]:
        answer = self._table.query(
            IndexName="target-index",
            KeyConditionExpression="targetStoreId = :t",
            ExpressionAttributeValues={":t": target_store_id},
            ScanIndexForward=False,  # newest first
            Limit=limit,
        )
        return answer.get("Items") or []

    def list_by_status(
        self,
        status: str,
        *,
        since: str | None = None,
        target_store_id: int | None = None,
        source_store_id: int | None = None,
        error_code: str | None = None,
        not_retried: bool = False,
        limit: int = 50,
        start_key: dict[str, Any] | None = None,
    ) -> tuple[list[Job], dict[str, Any] | None]:
        """One page of the jobs in ``status``, newest first (status-index), created at or
        after ``since`` (an ISO timestamp like createdAt), and DynamoDB's LastEvaluatedKey.
        The other filters apply after the page is read: a page may hold fewer than ``limit``."""
        kwargs = _status_query(status, since, target_store_id, source_store_id, error_code, not_retried)
        kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        answer = self._table.query(**kwargs)
        return [Job(item) for item in answer.get("Items") or []], answer.get("LastEvaluatedKey")

    def count_by_status(
        self,
        status: str,
        *,
        since: str | None = None,
        target_store_id: int | None = None,
        source_store_id: int | None = None,
        error_code: str | None = None,
        not_retried: bool = False,
        sample: int = 10,
    ) -> tuple[int, list[str]]:
        """How many jobs in ``status`` the filters match (every page of the status index, counted
        by DynamoDB), and the IDs of the newest ``sample`` of them (none asked: Select=COUNT)."""
        kwargs = _status_query(status, since, target_store_id, source_store_id, error_code, not_retried)
        if sample:
            kwargs["ProjectionExpression"] = "cloneId"  # what is counted is read whole, but only IDs come back
        else:
            kwargs["Select"] = "COUNT"  # the count alone
        matched, ids, start_key = 0, list[str](), None
        while True:
            page = self._table.query(
                **kwargs, **(cast(dict[str, Any], {"ExclusiveStartKey": start_key}) if start_key else {})
            )
            items = page.get("Items") or []
            matched += int(page.get("Count", len(items)))
            ids.extend(str(item["cloneId"]) for item in items[: max(0, sample - len(ids))])
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return matched, ids

    def recent_durations(self, source_store_id: int, scope: str | None, limit: int = 10) -> list[float]:
        """Durations of the latest completed clones of this source and scope, newest first."""
        answer = self._table.query(
            IndexName="source-index",
            KeyConditionExpression="sourceStoreId = :s",
            ExpressionAttributeValues={":s": source_store_id},
            ScanIndexForward=False,  # newest finish first
            Limit=limit * 3,  # failed clones and other scopes share the index
        )
        durations = [
            float(cast(Decimal, item.get("cloneSeconds", item.get("durationSeconds"))))
            for item in answer.get("Items") or []
            if item.get("status") == JobStatus.COMPLETED
            and item.get("scope") == scope
            and ("cloneSeconds" in item or "durationSeconds" in item)
        ]
        return durations[:limit]

    def find_by_ticket(self, ticket: str) -> Job | None:
        answer = self._table.query(
            IndexName="ticket-index",
            KeyConditionExpression="ticket = :t",
            ExpressionAttributeValues={":t": ticket},
            Limit=1,
        )
        items = answer.get("Items") or []
        return Job(items[0]) if items else None

    def advance(self, clone_id: str, status: str, **attributes: Any) -> bool:
        """Move the job to ``status`` and set ``attributes``, only forward.

        The same status may be written again (a retried Lambda); an earlier
        one, or any change of a final status, is refused. Returns False when
        refused.
        """
        rank = STATUS_RANK[status]
        allowed = [s for s, r in STATUS_RANK.items() if r < rank or s == status]
        if status in FINAL_STATUSES:
            attributes.update(self._expiry())
        values: dict[str, Any] = {":status": status, ":now": iso_utc()}
        names = {"#status": "status"}
        sets = ["#status = :status", "updatedAt = :now"]
        for index, (name, value) in enumerate(attributes.items()):
            names[f"#a{index}"] = name
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        allowed_keys = []
        for index, previous in enumerate(allowed):
            values[f":p{index}"] = previous
            allowed_keys.append(f":p{index}")
        try:
            self._table.update_item(
                Key={"cloneId": clone_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"attribute_exists(cloneId) AND #status IN ({', '.join(allowed_keys)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def _expiry(self) -> dict[str, int]:
        """expiresAt for a job that ends now (nothing when jobs are kept)."""
        return {"expiresAt": int(time.time() + self._retention_seconds)} if self._retention_seconds > 0 else {}

    def mark_retried(
        self, clone_id: str, attempt_id: str, request_id: str | None, target_store_id: int | None = None
    ) -> Job | None:
        """Link a final failed job to the attempt that retries it, once: the first caller wins.
        Returns the job as it is now when another caller linked it first (None: this call did)."""
        values: dict[str, Any] = {":attempt": attempt_id, ":now": iso_utc()}
        sets = ["retriedBy = :attempt", "updatedAt = :now"]
        if request_id is not None:
            values[":rid"] = request_id
            sets.append("retryRequestId = :rid")
        if target_store_id is not None:  # kept, so that a call that dies before the attempt is recorded can heal
            values[":target"] = target_store_id
            sets.append("retryTargetStoreId = :target")
        statuses = sorted(RETRYABLE_STATUSES)
        values.update({f":s{index}": status for index, status in enumerate(statuses)})
        try:
            self._table.update_item(
                Key={"cloneId": clone_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(cloneId) AND attribute_not_exists(retriedBy) AND #status IN ("
                + ", ".join(f":s{index}" for index in range(len(statuses)))
                + ")",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
            return None
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return self.get(clone_id)

    def cancel(self, clone_id: str, *, reason: str | None, by: str) -> tuple[Job, Job] | None:
        """End a job that is not final as CANCELLED: (the job as it was, as it is now), or None
        when it was final already, or is unknown. Who and when are kept; so is whether Ecwid may
        still run its ticket: a ticket is known, or a POST was sent (the job as it was says)."""
        now = iso_utc()
        attributes: dict[str, Any] = {
            "cancelledAt": now,
            "cancelledBy": by,
            "finishedAt": now,
            "errorCode": ErrorCode.CANCELLED,
            "errorMessage": f"Cancelled by {by}" + (f": {reason}" if reason else ""),
            **self._expiry(),
        }
        if reason:
            attributes["cancelReason"] = reason
        names = {"#status": "status", **{f"#a{index}": name for index, name in enumerate(attributes)}}
        values = {
            ":cancelled": JobStatus.CANCELLED,
            ":now": now,
            **{f":a{i}": v for i, v in enumerate(attributes.values())},
        }
        finals = sorted(FINAL_STATUSES)
        values.update({f":f{index}": status for index, status in enumerate(finals)})
        sets = ["#status = :cancelled", "updatedAt = :now"] + [f"#a{i} = :a{i}" for i in range(len(attributes))]
        try:
            answer = self._table.update_item(
                Key={"cloneId": clone_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(cloneId) AND NOT #status IN ("
                + ", ".join(f":f{index}" for index in range(len(finals)))
                + ")",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        before = Job(answer["Attributes"])
        may_complete = bool(before.ticket) or int(before.get("postAttempts", 0)) > 0
        self._table.update_item(
            Key={"cloneId": clone_id},
            UpdateExpression="SET ecwidTicketMayComplete = :may",
            ExpressionAttributeValues={":may": may_complete},
        )
        now_item = {
            **before,
            "status": JobStatus.CANCELLED,
            "updatedAt": now,
            **attributes,
            "ecwidTicketMayComplete": may_complete,
        }
        return before, Job(now_item)

    def erase_personal_data(self, clone_id: str) -> bool:
        """Remove the merchant's personal data from a final job (its facts stay); False when the
        job is not final (a running clone still needs them) or unknown."""
        finals = sorted(FINAL_STATUSES)
        try:
            self._table.update_item(
                Key={"cloneId": clone_id},
                UpdateExpression="REMOVE " + ", ".join(PERSONAL_FIELDS) + " SET personalDataErasedAt = if_not_exists("
                "personalDataErasedAt, :now), updatedAt = :now",
                ConditionExpression="attribute_exists(cloneId) AND #status IN ("
                + ", ".join(f":f{index}" for index in range(len(finals)))
                + ")",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":now": iso_utc(), **{f":f{i}": status for i, status in enumerate(finals)}},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise


def _status_query(
    status: str,
    since: str | None,
    target_store_id: int | None,
    source_store_id: int | None,
    error_code: str | None,
    not_retried: bool,
) -> dict[str, Any]:
    """A status-index query, newest first, with the filters that apply after the read."""
    condition = "#status = :status" + (" AND createdAt >= :since" if since else "")
    values: dict[str, Any] = {":status": status}
    if since:
        values[":since"] = since
    filters = []
    for name, value in (
        ("targetStoreId", target_store_id),
        ("sourceStoreId", source_store_id),
        ("errorCode", error_code),
    ):
        if value is not None:
            filters.append(f"{name} = :{name}")
            values[f":{name}"] = value
    if not_retried:
        filters.append("attribute_not_exists(retriedBy)")
    kwargs: dict[str, Any] = {
        "IndexName": "status-index",
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,  # newest first
    }
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    return kwargs
