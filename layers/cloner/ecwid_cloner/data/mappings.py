"""The mappings table: source -> target ID of every cloned product and category.

Keys are chosen for the two questions users ask:
- "in target store X, what became of source product 123?" is a GetItem on
  pk = "X#products#123" (a re-clone into X overwrites it: the latest wins);
- "all category mappings of clone Y" is one Query on the ``clone-index``
  GSI, partition "Y#categories", sorted by source ID.
Writes are idempotent: a retried write puts the very same items again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecwid_cloner.errors import MappingWriteError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestOutputTypeDef, WriteRequestTypeDef

BATCH_SIZE = 25  # BatchWriteItem's limit
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"}
)


def mapping_key(target_store_id: int, entity: str, source_id: str) -> str:
    return f"{target_store_id}#{entity}#{source_id}"


def clone_partition(clone_id: str, entity: str) -> str:
    return f"{clone_id}#{entity}"


class MappingStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        workers: int = 8,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        retention_days: float = 0,
    ):
        self._client = client  # a low-level boto3 DynamoDB client: no (de)serializer cost
        self._retention_seconds = retention_days * 86400  # 0: kept (DynamoDB's TTL on expiresAt otherwise)
        self._table = table_name
        self._workers = workers
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay

    def write(
        self,
        clone_id: str,
        target_store_id: int,
        mapping_by_entity: Mapping[str, Mapping[str, str]],
    ) -> dict[str, int]:
        """Write every mapping; returns the count written per entity."""
        expires = (
            {"expiresAt": {"N": str(int(time.time() + self._retention_seconds))}} if self._retention_seconds else {}
        )
        requests = self._put_requests(clone_id, target_store_id, mapping_by_entity, expires)
        batches = _chunks(requests, BATCH_SIZE)
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            # Bounded in-flight work: a 200,000-entry mapping is never built as
            # one list of request objects.
            while window := list(islice(batches, self._workers * 4)):
                # A window that leaves items behind ends the write: the table is
                # throttling, and the state machine's Retry rewrites it all later.
                if unprocessed := sum(pool.map(self._write_batch, window)):
                    raise MappingWriteError(unprocessed)
        return {entity: len(mapping) for entity, mapping in mapping_by_entity.items()}

    def get(self, target_store_id: int, entity: str, source_id: str) -> str | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": mapping_key(target_store_id, entity, source_id)}},
        )
        item = answer.get("Item")
        return item["targetId"]["S"] if item else None

    def page(
        self, clone_id: str, entity: str, limit: int = 100, start_key: dict[str, Any] | None = None
    ) -> tuple[dict[str, str], dict[str, Any] | None]:
        """One page of a clone's mapping for ``entity``, sorted by source ID.

        Returns the page and DynamoDB's LastEvaluatedKey (None on the last page);
        pass that key back as ``start_key`` for the next page.
        """
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "clone-index",
            "KeyConditionExpression": "cloneEntity = :p",
            "ExpressionAttributeValues": {":p": {"S": clone_partition(clone_id, entity)}},
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        answer = self._client.query(**kwargs)
        page = {item["sourceId"]["S"]: item["targetId"]["S"] for item in answer.get("Items", [])}
        return page, answer.get("LastEvaluatedKey")

    @staticmethod
    def _put_requests(
        clone_id: str,
        target_store_id: int,
        mapping_by_entity: Mapping[str, Mapping[str, str]],
        extra: Mapping[str, Any],
    ) -> Iterator[WriteRequestTypeDef]:
        for entity, mapping in mapping_by_entity.items():
            partition = {"S": clone_partition(clone_id, entity)}
            for source_id, target_id in mapping.items():
                source_id = str(source_id)
                yield {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": mapping_key(target_store_id, entity, source_id)},
                            "cloneEntity": partition,
                            "sourceId": {"S": source_id},
                            "targetId": {"S": str(target_id)},
                            **extra,
                        }
                    }
                }

    def _write_batch(self, batch: list[WriteRequestTypeDef]) -> int:
        """Write one batch, retrying UnprocessedItems with capped, jittered backoff.

        Returns how many items are still unprocessed after the last attempt.
        """
        pending: Mapping[str, Sequence[WriteRequestTypeDef | WriteRequestOutputTypeDef]] = {self._table: batch}
        for attempt in range(self._max_attempts):
            if attempt:
                # Full jitter: throttled writers spread out instead of retrying in step.
                time.sleep(random.uniform(0, min(self._max_delay, self._base_delay * 2 ** (attempt - 1))))
            try:
                answer = self._client.batch_write_item(RequestItems=pending)
            except ClientError as exc:
                # botocore already retried these; past that, back off as for
                # unprocessed items instead of failing the whole clone.
                if exc.response["Error"]["Code"] not in THROTTLING_CODES:
                    raise
                continue
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return 0
        return sum(len(items) for items in pending.values())


def _chunks[Item](items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
