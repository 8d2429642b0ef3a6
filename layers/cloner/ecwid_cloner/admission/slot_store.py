"""The slots' DynamoDB adapter (admission/control.py's SlotStore): one counter item in the
coordination table (``inFlight``, ``arrivals``, ``passed``) and one item per holder, written in
transactions so a retried acquire or release changes nothing twice."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ecwid_cloner.admission.control import ACQUIRED, ALREADY_HELD, Line

if TYPE_CHECKING:
    from decimal import Decimal

    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SLOTS_ITEM_NAME = "clone-slots"
CONFLICT_ATTEMPTS = 5  # a transaction that met another on the counter item is tried again this often
HOLDER_PREFIX = "clone-slot#"
# One item per number that passed the line without a slot, so it passes once however
# often its skip is retried; DynamoDB's TTL removes it after a while.
SKIPPED_PREFIX = "clone-slot-skipped#"
SKIPPED_KEPT_SECONDS = 30 * 86400  # far past EventBridge's last retry (a day) of a status change


class DynamoSlotStore:
    def __init__(self, table: Table, name: str = SLOTS_ITEM_NAME):
        self._table = table  # a boto3 DynamoDB Table resource
        self._client = table.meta.client
        self._name = name

    def take_number(self) -> tuple[int, Line]:
        answer = self._table.update_item(
            Key={"name": self._name},
            UpdateExpression="ADD arrivals :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_NEW",
        )
        item = answer["Attributes"]
        return int(cast("Decimal", item["arrivals"])), _line(item)

    def line(self) -> Line:
        return _line(self._table.get_item(Key={"name": self._name}, ConsistentRead=True).get("Item") or {})

    def skip(self, number: int, now: float) -> bool:
        passed_before, _ = self._write_with_counter(
            {
                "Put": {
                    "Item": {"name": f"{SKIPPED_PREFIX}{number}", "expiresAt": int(now) + SKIPPED_KEPT_SECONDS},
                    "ConditionExpression": "attribute_not_exists(#name)",
                }
            },
            {"UpdateExpression": "ADD passed :one", "ExpressionAttributeValues": {":one": 1}},
        )
        return not passed_before  # else a retried skip

    def try_acquire(self, holder: str, limit: int, now: float) -> str | None:
        held_already, full = self._write_with_counter(
            {
                "Put": {
                    "Item": {"name": HOLDER_PREFIX + holder, "holder": holder, "acquiredAt": str(round(now, 3))},
                    "ConditionExpression": "attribute_not_exists(#name)",
                }
            },
            {
                "UpdateExpression": "ADD inFlight :one, passed :one",
                "ConditionExpression": "attribute_not_exists(inFlight) OR inFlight < :limit",
                "ExpressionAttributeValues": {":one": 1, ":limit": limit},
            },
        )
        if held_already:
            return ALREADY_HELD  # a retried acquire: the slot is already ours
        return None if full else ACQUIRED

    def release(self, holder: str) -> bool:
        not_held, _ = self._write_with_counter(
            {"Delete": {"Key": {"name": HOLDER_PREFIX + holder}, "ConditionExpression": "attribute_exists(#name)"}},
            {"UpdateExpression": "ADD inFlight :minus_one", "ExpressionAttributeValues": {":minus_one": -1}},
        )
        return not not_held  # else released before (a retry, or the reaper)

    def _write_with_counter(self, item_write: dict[str, Any], counter_update: dict[str, Any]) -> tuple[bool, bool]:
        """One item's conditional write and the counter's update, in one transaction: both or
        neither. Returns whether each one's condition failed ((False, False): both written)."""
        ((kind, write),) = item_write.items()
        table = self._table.name
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(
                    # The resource's client takes plain values (boto3 serializes them); the stubs type the wire format.
                    TransactItems=cast(
                        "list[TransactWriteItemTypeDef]",
                        [
                            {kind: {"TableName": table, "ExpressionAttributeNames": {"#name": "name"}, **write}},
                            {"Update": {"TableName": table, "Key": {"name": self._name}, **counter_update}},
                        ],
                    )
                )
                return False, False
            except ClientError as exc:
                failed = _failed_conditions(exc)
                if any(failed):
                    return failed
                if not _conflicted(exc) or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
            # Another transaction held the counter item (a burst of acquires, a bulk cancel): a
            # moment later it is free; jittered, so the ones that met stop meeting.
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _conflicted(exc: ClientError) -> bool:
    """A transaction cancelled because another one was writing the same item."""
    reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    return exc.response["Error"]["Code"] == "TransactionCanceledException" and "TransactionConflict" in reasons


def _failed_conditions(exc: ClientError) -> tuple[bool, bool]:
    """For a cancelled two-item transaction: whether each item's condition failed
    (neither, for any other error)."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        return False, False
    reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    reasons += [None] * (2 - len(reasons))
    return reasons[0] == "ConditionalCheckFailed", reasons[1] == "ConditionalCheckFailed"


def _line(item: Mapping[str, Any]) -> Line:
    return Line(passed=int(item.get("passed", 0)), in_flight=int(item.get("inFlight", 0)))
