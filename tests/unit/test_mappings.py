"""MappingStore on moto, with the table template.yaml declares."""

from __future__ import annotations

import threading

import pytest

from ecwid_cloner.data import mappings
from ecwid_cloner.data.mappings import BATCH_SIZE, MappingStore, clone_partition, mapping_key
from ecwid_cloner.errors import MappingWriteError

CLONE_ID = "9001-0123456789abcdef01234567"
TARGET = 9001
PRODUCTS = {str(1000 + i): str(5000 + i) for i in range(57)}
CATEGORIES = {str(20 + i): str(700 + i) for i in range(13)}


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Records the backoff sleeps instead of sleeping (the store's threads share it)."""
    recorded: list[float] = []
    monkeypatch.setattr(mappings.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def store(dynamodb_client, mappings_table_name) -> MappingStore:
    return MappingStore(dynamodb_client, mappings_table_name)


def scan_all(client, table: str, **kwargs) -> list[dict]:
    items, start = [], {}
    while True:
        answer = client.scan(TableName=table, **kwargs, **start)
        items += answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            return items
        start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}


def count_items(client, table: str) -> int:
    total, start = 0, {}
    while True:
        answer = client.scan(TableName=table, Select="COUNT", **start)
        total += answer["Count"]
        if "LastEvaluatedKey" not in answer:
            return total
        start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}


def all_pages(store: MappingStore, clone_id: str, entity: str, limit: int) -> list[dict[str, str]]:
    pages, key = [], None
    while True:
        page, key = store.page(clone_id, entity, limit=limit, start_key=key)
        pages.append(page)
        if key is None:
            return pages
        assert len(pages) < 10_000


def item_set(items: list[dict]) -> set[tuple]:
    return {tuple(sorted((name, value["S"]) for name, value in item.items())) for item in items}


def test_the_table_is_the_templates(dynamodb_client, mappings_table_name):
    table = dynamodb_client.describe_table(TableName=mappings_table_name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "clone-index"
    assert index["KeySchema"] == [
        {"AttributeName": "cloneEntity", "KeyType": "HASH"},
        {"AttributeName": "sourceId", "KeyType": "RANGE"},
    ]


def test_keys():
    assert mapping_key(9001, "products", "123") == "9001#products#123"
    assert clone_partition("c-1", "categories") == "c-1#categories"


def test_write_returns_the_counts_and_stores_one_item_per_mapping(store, dynamodb_client, mappings_table_name):
    counts = store.write(CLONE_ID, TARGET, {"products": PRODUCTS, "categories": CATEGORIES})
    assert counts == {"products": 57, "categories": 13}
    items = scan_all(dynamodb_client, mappings_table_name)
    assert len(items) == 70
    item = next(i for i in items if i["pk"]["S"] == "9001#products#1000")
    assert item == {
        "pk": {"S": "9001#products#1000"},
        "cloneEntity": {"S": f"{CLONE_ID}#products"},
        "sourceId": {"S": "1000"},
        "targetId": {"S": "5000"},
    }


def test_get_looks_up_by_target_entity_and_source(store):
    store.write(CLONE_ID, TARGET, {"products": {"12345": "54321"}, "categories": {"12345": "999"}})
    assert store.get(TARGET, "products", "12345") == "54321"
    assert store.get(TARGET, "categories", "12345") == "999"  # entities do not collide
    assert store.get(TARGET, "products", "999") is None
    assert store.get(TARGET + 1, "products", "12345") is None  # another target store


def test_get_after_a_second_clone_into_the_same_target_gives_the_latest(store):
    store.write("clone-old", TARGET, {"products": {"1": "100"}})
    store.write("clone-new", TARGET, {"products": {"1": "200"}})
    assert store.get(TARGET, "products", "1") == "200"


def test_numeric_ids_are_stored_as_strings(store):
    store.write(CLONE_ID, TARGET, {"products": {12345: 54321}})
    assert store.get(TARGET, "products", "12345") == "54321"


@pytest.mark.parametrize("limit", [1, 7, 10, 57, 100])
def test_page_walks_the_whole_mapping_sorted_without_duplicates(store, limit):
    store.write(CLONE_ID, TARGET, {"products": PRODUCTS, "categories": CATEGORIES})

    pages = all_pages(store, CLONE_ID, "products", limit)
    assert all(len(page) <= limit for page in pages)
    sources = [source for page in pages for source in page]
    assert len(sources) == len(set(sources)), "a source ID came on two pages"
    assert sources == sorted(PRODUCTS)  # sorted by source ID (as strings)
    merged = {source: target for page in pages for source, target in page.items()}
    assert merged == PRODUCTS
    if limit < len(PRODUCTS):
        assert len(pages) >= -(-len(PRODUCTS) // limit)


def test_page_returns_a_last_evaluated_key_that_continues_the_walk(store):
    store.write(CLONE_ID, TARGET, {"categories": CATEGORIES})
    first, key = store.page(CLONE_ID, "categories", limit=5)
    assert list(first) == sorted(CATEGORIES)[:5]
    assert key is not None
    second, key = store.page(CLONE_ID, "categories", limit=5, start_key=key)
    assert list(second) == sorted(CATEGORIES)[5:10]
    third, key = store.page(CLONE_ID, "categories", limit=5, start_key=key)
    assert list(third) == sorted(CATEGORIES)[10:]
    assert key is None


def test_page_only_sees_its_own_clone_and_entity(store):
    store.write(CLONE_ID, TARGET, {"products": PRODUCTS, "categories": CATEGORIES})
    store.write("other-clone", 9002, {"products": {"1": "2"}})
    (page,) = all_pages(store, CLONE_ID, "categories", 100)
    assert page == CATEGORIES
    (page,) = all_pages(store, "other-clone", "products", 100)
    assert page == {"1": "2"}
    assert all_pages(store, "unknown-clone", "products", 100) == [{}]


def test_writing_the_same_mapping_twice_leaves_the_same_rows(store, dynamodb_client, mappings_table_name):
    mapping = {"products": PRODUCTS, "categories": CATEGORIES}
    store.write(CLONE_ID, TARGET, mapping)
    first = scan_all(dynamodb_client, mappings_table_name)
    assert store.write(CLONE_ID, TARGET, mapping) == {"products": 57, "categories": 13}
    second = scan_all(dynamodb_client, mappings_table_name)
    assert count_items(dynamodb_client, mappings_table_name) == 70
    assert len(second) == len(first) == 70
    assert item_set(second) == item_set(first)


def test_an_empty_mapping_writes_nothing(store, dynamodb_client, mappings_table_name):
    assert store.write(CLONE_ID, TARGET, {"products": {}, "categories": {}}) == {"products": 0, "categories": 0}
    assert count_items(dynamodb_client, mappings_table_name) == 0


def test_a_100k_entry_mapping_is_written_completely(store, dynamodb_client, mappings_table_name):
    products = {str(i): f"p{i}" for i in range(70_000)}
    categories = {str(i): f"c{i}" for i in range(30_000)}
    counts = store.write(CLONE_ID, TARGET, {"products": products, "categories": categories})
    assert counts == {"products": 70_000, "categories": 30_000}
    assert count_items(dynamodb_client, mappings_table_name) == 100_000
    for source in ("0", "1", "34999", "69999"):
        assert store.get(TARGET, "products", source) == f"p{source}"
    for source in ("0", "29999"):
        assert store.get(TARGET, "categories", source) == f"c{source}"


# -- UnprocessedItems ---------------------------------------------------------------------


class FlakyClient:
    """The real (moto) client, except that the first ``failing_calls`` BatchWriteItem
    calls write only part of their batch and hand the rest back as UnprocessedItems."""

    def __init__(self, real, failing_calls: int | None, written_per_failure: int = 10):
        self._real = real
        self._failing_calls = failing_calls  # None: never process anything
        self._written = written_per_failure
        self._lock = threading.Lock()
        self.calls = 0
        self.failed_calls = 0
        self.batch_sizes: list[int] = []

    def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's spelling
        ((table, items),) = RequestItems.items()
        with self._lock:
            self.calls += 1
            self.batch_sizes.append(len(items))
            fail = self._failing_calls is None or self.calls <= self._failing_calls
            if fail:
                self.failed_calls += 1
        if not fail:
            return self._real.batch_write_item(RequestItems=RequestItems)
        written = 0 if self._failing_calls is None else min(self._written, len(items) - 1)
        if written:
            self._real.batch_write_item(RequestItems={table: items[:written]})
        return {"UnprocessedItems": {table: items[written:]}}

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_unprocessed_items_are_retried_until_everything_is_written(dynamodb_client, mappings_table_name, sleeps):
    flaky = FlakyClient(dynamodb_client, failing_calls=6)
    store = MappingStore(flaky, mappings_table_name, workers=4, max_attempts=8, base_delay=0.05, max_delay=5.0)
    products = {str(i): str(i * 10) for i in range(200)}  # 8 batches

    assert store.write(CLONE_ID, TARGET, {"products": products}) == {"products": 200}

    assert flaky.failed_calls == 6
    assert flaky.calls > 200 // BATCH_SIZE  # retries happened
    assert max(flaky.batch_sizes) <= BATCH_SIZE
    assert len(sleeps) == 6  # one backoff per unprocessed answer
    assert all(0 <= s <= 5.0 for s in sleeps)
    assert count_items(dynamodb_client, mappings_table_name) == 200
    (page,) = all_pages(store, CLONE_ID, "products", 1000)
    assert page == products


class TopOfRange:
    """Stands in for ``random``: full jitter always picks its upper bound."""

    @staticmethod
    def uniform(low, high):
        assert low == 0
        return high


def test_the_backoff_doubles_per_attempt_up_to_the_cap(dynamodb_client, mappings_table_name, sleeps, monkeypatch):
    monkeypatch.setattr(mappings, "random", TopOfRange)
    flaky = FlakyClient(dynamodb_client, failing_calls=5, written_per_failure=1)
    store = MappingStore(flaky, mappings_table_name, workers=1, max_attempts=8, base_delay=0.1, max_delay=0.25)
    store.write(CLONE_ID, TARGET, {"products": {"1": "2", "3": "4"}})
    assert flaky.calls == 6
    assert sleeps == pytest.approx([0.1, 0.2, 0.25, 0.25, 0.25])
    assert store.get(TARGET, "products", "1") == "2"
    assert store.get(TARGET, "products", "3") == "4"


def test_a_client_that_never_processes_raises_mapping_write_error(dynamodb_client, mappings_table_name, sleeps):
    flaky = FlakyClient(dynamodb_client, failing_calls=None)
    store = MappingStore(flaky, mappings_table_name, workers=1, max_attempts=3)
    with pytest.raises(MappingWriteError) as caught:
        store.write(CLONE_ID, TARGET, {"products": {str(i): str(i) for i in range(BATCH_SIZE)}})
    assert caught.value.code == "MAPPING_WRITE_INCOMPLETE"
    assert caught.value.retryable is True
    assert str(BATCH_SIZE) in caught.value.message
    assert flaky.calls == 3  # max_attempts, then give up
    assert count_items(dynamodb_client, mappings_table_name) == 0


def test_no_backoff_sleep_after_the_last_attempt(dynamodb_client, mappings_table_name, sleeps):
    flaky = FlakyClient(dynamodb_client, failing_calls=None)
    store = MappingStore(flaky, mappings_table_name, workers=1, max_attempts=3)
    with pytest.raises(MappingWriteError):
        store.write(CLONE_ID, TARGET, {"products": {"1": "1"}})
    assert flaky.calls == 3
    assert len(sleeps) == 2  # between attempts only: no wait with no retry to follow


def test_mapping_write_error_counts_every_unwritten_item_of_the_window(dynamodb_client, mappings_table_name, sleeps):
    flaky = FlakyClient(dynamodb_client, failing_calls=None)
    store = MappingStore(flaky, mappings_table_name, workers=4, max_attempts=2)
    with pytest.raises(MappingWriteError) as caught:
        store.write(CLONE_ID, TARGET, {"products": {str(i): str(i) for i in range(3 * BATCH_SIZE)}})
    assert count_items(dynamodb_client, mappings_table_name) == 0
    assert caught.value.message.startswith(f"{3 * BATCH_SIZE} mapping items")


class ThrottledClient:
    """The real (moto) client, except that the first ``throttled_calls`` BatchWriteItem
    calls fail as a throttled table does once botocore has given up retrying."""

    def __init__(self, real, throttled_calls: int, code: str = "ProvisionedThroughputExceededException"):
        self._real, self._left, self._code = real, throttled_calls, code
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's spelling
        from botocore.exceptions import ClientError

        with self._lock:
            throttled, self._left = self._left > 0, self._left - 1
        if throttled:
            raise ClientError({"Error": {"Code": self._code, "Message": "slow down"}}, "BatchWriteItem")
        return self._real.batch_write_item(RequestItems=RequestItems)

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_throttling_errors_are_backed_off_and_every_item_written(dynamodb_client, mappings_table_name, sleeps):
    store = MappingStore(ThrottledClient(dynamodb_client, throttled_calls=3), mappings_table_name, workers=1)
    mapping = {str(i): str(10_000 + i) for i in range(60)}

    assert store.write(CLONE_ID, TARGET, {"products": mapping}) == {"products": 60}

    assert count_items(dynamodb_client, mappings_table_name) == 60
    assert len(sleeps) == 3


def test_a_table_that_stays_throttled_ends_in_a_retryable_error(dynamodb_client, mappings_table_name, sleeps):
    store = MappingStore(
        ThrottledClient(dynamodb_client, throttled_calls=10**6), mappings_table_name, workers=1, max_attempts=4
    )

    with pytest.raises(MappingWriteError) as caught:
        store.write(CLONE_ID, TARGET, {"products": {"1": "2"}})
    assert caught.value.retryable


def test_other_client_errors_are_not_swallowed(dynamodb_client, mappings_table_name, sleeps):
    from botocore.exceptions import ClientError

    store = MappingStore(ThrottledClient(dynamodb_client, 1, code="ValidationException"), mappings_table_name)
    with pytest.raises(ClientError):
        store.write(CLONE_ID, TARGET, {"products": {"1": "2"}})
