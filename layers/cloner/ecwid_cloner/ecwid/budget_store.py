"""The request budget's DynamoDB adapter (ecwid/budget.py's BudgetStore): one item in the
coordination table holding the schedule (``tat``) every Ecwid request of the stack books on."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ecwid_cloner.ecwid.budget import Booking, BudgetPolicy, Priority, book
from ecwid_cloner.errors import EcwidRetryableError, ErrorCode

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BUDGET_ITEM_NAME = "ecwid-request-budget"
# On the budget item beside ``tat``: every request ever booked, counted by the booking's own
# write. Operators chart requests a minute from two reads of it (GET /campaign).
BOOKED_TOTAL = "booked"


class DynamoBudgetStore:
    """``tat`` in one item of the coordination table, booked with one conditional UpdateItem.

    No read first, so no lost race to retry under contention: the condition picks the
    case ``book()`` is in (a backlog: add to ``tat``; a quiet schedule: start from
    now) and the write applies it. Only when the case changed between two callers'
    writes does a caller try the other case, with what the failed write returned.
    """

    def __init__(self, table: Table, name: str = BUDGET_ITEM_NAME, attempts: int = 6):
        self._table = table
        self._key = {"name": name}
        self._attempts = attempts

    def book(self, now: float, policy: BudgetPolicy, priority: Priority, count: int) -> Booking:
        add = count * policy.interval
        tat: float | None = now  # first guess: a backlog (the busy case is the one under load)
        for _ in range(self._attempts):
            if tat is not None and tat >= now:
                # A backlog: book after it. New work only while it is within the horizon.
                limit = None
                if priority is Priority.NEW:
                    limit = now + policy.tolerance + policy.new_work_horizon * policy.time_scale
                written, tat = self._update(
                    f"SET tat = tat + :add ADD {BOOKED_TOTAL} :count",
                    "tat >= :now" + (" AND tat <= :limit" if limit is not None else ""),
                    {":add": add, ":now": now, ":count": count, **({":limit": limit} if limit is not None else {})},
                )
                if written is not None:
                    old = written - add
                    return Booking(
                        max(now, old - policy.tolerance),
                        max(0.0, old - policy.tolerance - now),
                        True,
                        lead=max(0.0, old - now),
                    )
                if tat is not None and tat >= now:  # refused: a backlog past what new work may join
                    return book(tat, now, policy, priority, count)[1]
            else:
                # Quiet: the schedule starts again from now.
                written, tat = self._update(
                    f"SET tat = :start ADD {BOOKED_TOTAL} :count",
                    "attribute_not_exists(tat) OR tat < :now",
                    {":start": now + add, ":now": now, ":count": count},
                )
                if written is not None:
                    return Booking(now, 0.0, True)
        raise EcwidRetryableError(ErrorCode.BUDGET_CONTENDED, "the request budget changed under every booking attempt")

    def lead(self, now: float) -> float:
        # Eventually consistent (half a read unit): a second-old schedule tells a backlog as well.
        item = self._table.get_item(Key=self._key, ProjectionExpression="tat").get("Item") or {}
        return max(0.0, float(cast(Decimal, item["tat"])) - now) if "tat" in item else 0.0

    def _update(self, expression: str, condition: str, values: dict[str, float]) -> tuple[float | None, float | None]:
        """(the new tat when written, else None; the tat the item holds when not written)."""
        try:
            answer = self._table.update_item(
                Key=self._key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues={name: _decimal(value) for name, value in values.items()},
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]  # ALL_OLD: the item
            return None, float(item["tat"]["N"]) if "tat" in item else None
        return float(cast(Decimal, answer["Attributes"]["tat"])), None


def _decimal(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 4)))
