"""JobsRepository on moto, with the table template.yaml declares."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from ecwid_cloner.data.job import FINAL_STATUSES, STATUS_RANK
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.models import CloneRequest

CLONE_ID = "9001-abcdef0123456789abcdef01"
REQUEST = CloneRequest(1003, 9001, scope="CATALOG", clone_demo_catalog=True)
ORDER = ["STARTING", "QUEUED", "IN_PROGRESS"]


@pytest.fixture
def jobs(jobs_table) -> JobsRepository:
    return JobsRepository(jobs_table)


@pytest.fixture
def started(jobs) -> JobsRepository:
    jobs.record_intent(CLONE_ID, REQUEST)
    return jobs


def test_the_table_is_the_templates(jobs_table):
    description = jobs_table.meta.client.describe_table(TableName=jobs_table.name)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "cloneId", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index["KeySchema"] for index in description["GlobalSecondaryIndexes"]}
    assert indexes == {
        "ticket-index": [{"AttributeName": "ticket", "KeyType": "HASH"}],
        "target-index": [
            {"AttributeName": "targetStoreId", "KeyType": "HASH"},
            {"AttributeName": "createdAt", "KeyType": "RANGE"},
        ],
        "source-index": [
            {"AttributeName": "sourceStoreId", "KeyType": "HASH"},
            {"AttributeName": "finishedAt", "KeyType": "RANGE"},
        ],
        "status-index": [
            {"AttributeName": "status", "KeyType": "HASH"},
            {"AttributeName": "createdAt", "KeyType": "RANGE"},
        ],
    }


def test_recent_durations_are_the_completed_clones_of_that_source_and_scope(jobs):
    from ecwid_cloner.models import CloneRequest

    finished = [
        ("a", 1003, "CATALOG", "COMPLETED", 300),
        ("b", 1003, "CATALOG", "FAILED", 50),
        ("c", 1003, None, "COMPLETED", 900),
        ("d", 1004, "CATALOG", "COMPLETED", 120),
        ("e", 1003, "CATALOG", "COMPLETED", 310),
        ("f", 1003, "CATALOG", "IN_PROGRESS", None),
    ]
    for minute, (clone_id, source, scope, status, seconds) in enumerate(finished):
        jobs.record_intent(clone_id, CloneRequest(source, 9000 + minute, scope))
        extra = {"finishedAt": f"2026-11-23T10:{minute:02d}:00Z"} if seconds else {}
        if seconds:
            extra["durationSeconds"] = seconds
        jobs.advance(clone_id, status, **extra)

    assert jobs.recent_durations(1003, "CATALOG") == [310.0, 300.0]  # newest first, completed only
    assert jobs.recent_durations(1003, None) == [900.0]
    assert jobs.recent_durations(1005, "CATALOG") == []


def test_begin_post_counts_earlier_attempts(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    assert [jobs.begin_post(CLONE_ID) for _ in range(3)] == [0, 1, 2]
    assert int(jobs.get(CLONE_ID)["postAttempts"]) == 3


def test_running_for_target_is_the_newest_unfinished_job(jobs):
    from ecwid_cloner.models import CloneRequest

    assert jobs.running_for_target(9001) is None
    jobs.record_intent("first", REQUEST)
    jobs.advance("first", "COMPLETED")
    assert jobs.running_for_target(9001) is None  # finished jobs do not count
    jobs.record_intent("second", REQUEST)
    jobs.record_intent("elsewhere", CloneRequest(1003, 9002, "CATALOG"))
    running = jobs.running_for_target(9001)
    assert running["cloneId"] == "second" and running["status"] == "STARTING"


def test_record_intent_creates_the_job_once(jobs, jobs_table):
    item, created = jobs.record_intent(CLONE_ID, REQUEST)
    assert created is True
    assert item["cloneId"] == CLONE_ID
    assert item["status"] == "STARTING"
    stored = jobs.get(CLONE_ID)
    assert stored["status"] == "STARTING"
    assert (stored["sourceStoreId"], stored["targetStoreId"]) == (1003, 9001)
    assert stored["scope"] == "CATALOG"
    assert stored["cloneDemoCatalog"] is True
    assert stored["polls"] == 0
    assert stored["createdAt"] == stored["updatedAt"]
    assert stored["createdAt"].endswith("Z")


def test_record_intent_a_second_time_returns_the_existing_job(jobs, jobs_table):
    jobs.record_intent(CLONE_ID, REQUEST)
    assert jobs.advance(CLONE_ID, "QUEUED", ticket="t-1")
    before = jobs.get(CLONE_ID)

    # A retried StartClone, even with different parameters, must not reset the job.
    item, created = jobs.record_intent(CLONE_ID, CloneRequest(1, 2))
    assert created is False
    assert item == before
    assert item["status"] == "QUEUED"
    assert item["ticket"] == "t-1"
    assert jobs.get(CLONE_ID) == before
    assert jobs_table.scan()["Count"] == 1


def test_record_intent_knows_its_own_write_when_the_first_answer_was_lost(jobs_table):
    """botocore retries a PutItem whose answer was lost; the retry's condition then
    fails on the item the first attempt wrote, and that is still this call's job."""
    from botocore.exceptions import ClientError

    class AnswerLostOnce:
        def __init__(self, table):
            self._table = table

        def put_item(self, **kwargs):
            self._table.put_item(**kwargs)  # the first attempt lands...
            return self._table.put_item(**kwargs)  # ...and the retry meets it

        def __getattr__(self, name):
            return getattr(self._table, name)

    jobs = JobsRepository(AnswerLostOnce(jobs_table))
    with pytest.raises(ClientError):  # what the retry alone would say
        AnswerLostOnce(jobs_table).put_item(Item={"cloneId": "x"}, ConditionExpression="attribute_not_exists(cloneId)")

    item, created = jobs.record_intent(CLONE_ID, REQUEST)
    assert created is True
    assert item == JobsRepository(jobs_table).get(CLONE_ID)
    # Another call for the same clone ID is still told the job existed.
    assert JobsRepository(jobs_table).record_intent(CLONE_ID, REQUEST)[1] is False


def test_record_intent_without_scope_stores_no_scope(jobs):
    jobs.record_intent("c-2", CloneRequest(1, 2))
    assert "scope" not in jobs.get("c-2")


def test_get_of_an_unknown_job_is_none(jobs):
    assert jobs.get("nope") is None


@pytest.mark.parametrize("target", ["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED", "TIMED_OUT"])
def test_advance_moves_forward_and_sets_attributes(started, target):
    assert started.advance(CLONE_ID, target, ticket="t-1", polls=4, durationSeconds=Decimal("12.5")) is True
    job = started.get(CLONE_ID)
    assert job["status"] == target
    assert job["ticket"] == "t-1"
    assert job["polls"] == 4
    assert job["durationSeconds"] == Decimal("12.5")
    assert job["sourceStoreId"] == 1003  # untouched


def test_advance_walks_the_whole_way(started):
    for status in ["QUEUED", "IN_PROGRESS", "COMPLETED"]:
        assert started.advance(CLONE_ID, status) is True
        assert started.get(CLONE_ID)["status"] == status


def test_advance_refuses_to_go_back_from_completed(started):
    assert started.advance(CLONE_ID, "IN_PROGRESS", ticket="t-1")
    assert started.advance(CLONE_ID, "COMPLETED", products=10, categories=3)
    before = started.get(CLONE_ID)

    assert started.advance(CLONE_ID, "IN_PROGRESS", polls=99, ticket="other") is False
    assert started.get(CLONE_ID) == before


@pytest.mark.parametrize(
    ("current", "earlier"),
    [
        ("QUEUED", "STARTING"),
        ("IN_PROGRESS", "QUEUED"),
        ("IN_PROGRESS", "STARTING"),
        ("FAILED", "QUEUED"),
        ("TIMED_OUT", "IN_PROGRESS"),
    ],
)
def test_advance_refuses_every_earlier_status(started, current, earlier):
    assert started.advance(CLONE_ID, current)
    before = started.get(CLONE_ID)
    assert started.advance(CLONE_ID, earlier, polls=7) is False
    assert started.get(CLONE_ID) == before


@pytest.mark.parametrize("status", ["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"])
def test_the_same_status_may_be_written_again(started, status):
    assert started.advance(CLONE_ID, status, polls=1)
    assert started.advance(CLONE_ID, status, polls=2) is True
    job = started.get(CLONE_ID)
    assert job["status"] == status
    assert job["polls"] == 2


@pytest.mark.parametrize(
    ("final", "other"), [(a, b) for a in sorted(FINAL_STATUSES) for b in sorted(FINAL_STATUSES) if a != b]
)
def test_a_final_status_cannot_change_to_another_final_one(started, final, other):
    assert started.advance(CLONE_ID, final, errorCode="X")
    before = started.get(CLONE_ID)
    assert started.advance(CLONE_ID, other, errorCode="Y") is False
    assert started.get(CLONE_ID) == before


def test_the_final_statuses_are_completed_failed_timed_out_and_cancelled():
    assert FINAL_STATUSES == {"COMPLETED", "FAILED", "TIMED_OUT", "CANCELLED"}
    assert all(STATUS_RANK[s] > STATUS_RANK[p] for s in FINAL_STATUSES for p in ORDER)


def test_advance_of_an_unknown_job_is_refused_and_creates_nothing(jobs, jobs_table):
    assert jobs.advance("missing", "QUEUED", ticket="t") is False
    assert jobs.get("missing") is None
    assert jobs_table.scan()["Count"] == 0


def test_advance_sets_updated_at_but_keeps_created_at(started):
    created = started.get(CLONE_ID)["createdAt"]
    started.advance(CLONE_ID, "QUEUED")
    job = started.get(CLONE_ID)
    assert job["createdAt"] == created
    assert job["updatedAt"].endswith("Z")
    assert job["status"] == "QUEUED"


def test_attribute_names_that_are_dynamodb_reserved_words_work(started):
    # "status", "name", "count" are reserved words in DynamoDB expressions.
    assert started.advance(CLONE_ID, "QUEUED", name="n", count=3, comment="c")
    job = started.get(CLONE_ID)
    assert (job["name"], job["count"], job["comment"]) == ("n", 3, "c")


def test_find_by_ticket_uses_the_ticket_index(jobs):
    jobs.record_intent("clone-a", CloneRequest(1003, 9001))
    jobs.record_intent("clone-b", CloneRequest(2004, 9002))
    jobs.record_intent("clone-c", CloneRequest(3005, 9003))  # no ticket yet
    jobs.advance("clone-a", "QUEUED", ticket="ticket-a")
    jobs.advance("clone-b", "IN_PROGRESS", ticket="ticket-b")

    found = jobs.find_by_ticket("ticket-b")
    assert found["cloneId"] == "clone-b"
    assert found["sourceStoreId"] == 2004
    assert found["targetStoreId"] == 9002
    assert found["status"] == "IN_PROGRESS"
    assert jobs.find_by_ticket("ticket-a")["cloneId"] == "clone-a"
    assert jobs.find_by_ticket("ticket-unknown") is None


def test_a_merchant_job_has_no_target_until_its_store_is_created(jobs):
    from ecwid_cloner.models import Merchant

    request = CloneRequest(1003, None, "CATALOG", merchant=Merchant("ann@example.com", "Ann"))
    job, created = jobs.record_intent("new-1", request, {"signupId": "acme-1"})
    assert created and "targetStoreId" not in job
    assert job["merchant"] == {"email": "ann@example.com", "name": "Ann"} and job["signupId"] == "acme-1"
    assert CloneRequest.from_state(jobs.get("new-1")) == request, "the job restarts the same request"

    before = time.time()
    assert [jobs.begin_store_create("new-1") for _ in range(2)] == [0, 1]
    first_post = jobs.get("new-1").store_create_first_post_at
    assert first_post is not None and before - 0.01 <= first_post <= time.time(), "the first POST's moment"
    assert jobs.begin_store_create("new-1") == 2 and jobs.get("new-1").store_create_first_post_at == first_post
    assert not jobs.get("new-1").store_create_conflict
    jobs.record_store_create_conflict("new-1")
    assert jobs.get("new-1").store_create_conflict
    jobs.record_created_store("new-1", 60000001, token_saved=False)
    stored = jobs.get("new-1")
    assert int(stored["targetStoreId"]) == 60000001 and stored["storeTokenSaved"] is False
    assert "storeTokenUnknown" not in stored and "storeFoundAfterLostAnswer" not in stored
    assert jobs.running_for_target(60000001)["cloneId"] == "new-1"


def test_a_store_found_after_a_lost_answer_says_its_token_is_unknown(jobs):
    from ecwid_cloner.models import Merchant

    jobs.record_intent("new-2", CloneRequest(1003, None, "CATALOG", merchant=Merchant("bo@example.com", "Bo")))
    jobs.record_created_store("new-2", 60000002, token_saved=False, found_after_lost_answer=True)
    stored = jobs.get("new-2")
    assert stored["storeFoundAfterLostAnswer"] is True and stored["storeTokenUnknown"] is True
    assert stored["storeTokenSaved"] is False and int(stored["targetStoreId"]) == 60000002


def test_event_failures_accumulate_on_the_job(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.record_event_failure(CLONE_ID, "Store Created", "EventBridge.FailedEntry: bus gone")
    jobs.record_event_failure(CLONE_ID, "Clone Completed", "States.Timeout: " + "x" * 1000)
    failures = jobs.get(CLONE_ID)["eventFailures"]
    assert [f["detailType"] for f in failures] == ["Store Created", "Clone Completed"]
    assert len(failures[1]["error"]) == 300


def test_jobs_of_a_status_come_newest_first_filtered_and_paged(jobs):
    import time

    for index, target in enumerate((9001, 9002, 9001)):
        clone_id = f"list-{index}"
        jobs.record_intent(clone_id, CloneRequest(1003, target, "CATALOG"))
        time.sleep(0.002)  # createdAt has millisecond resolution
    jobs.advance("list-1", "FAILED", errorCode="X")

    items, last = jobs.list_by_status("STARTING")
    assert [i["cloneId"] for i in items] == ["list-2", "list-0"] and last is None
    items, _ = jobs.list_by_status("STARTING", target_store_id=9002)
    assert items == []
    first, last = jobs.list_by_status("STARTING", limit=1)
    second, _ = jobs.list_by_status("STARTING", limit=1, start_key=last)
    assert [first[0]["cloneId"], second[0]["cloneId"]] == ["list-2", "list-0"]
    newest = jobs.get("list-2")["createdAt"]
    assert [i["cloneId"] for i in jobs.list_by_status("STARTING", since=newest)[0]] == ["list-2"]


def test_a_job_expires_its_retention_after_it_ended_and_never_while_it_runs(jobs_table):
    import time

    jobs = JobsRepository(jobs_table, retention_days=400)
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.advance(CLONE_ID, "QUEUED", ticket="t")
    assert "expiresAt" not in jobs.get(CLONE_ID)
    jobs.advance(CLONE_ID, "COMPLETED")
    assert abs(int(jobs.get(CLONE_ID)["expiresAt"]) - (time.time() + 400 * 86400)) < 5
    kept = JobsRepository(jobs_table)  # 0: kept for ever
    kept.record_intent("kept", REQUEST)
    kept.advance("kept", "FAILED", errorCode="X")
    assert "expiresAt" not in kept.get("kept")


def test_a_cancel_ends_a_running_job_once_and_says_whether_ecwid_may_still_run_it(started):
    started.advance(CLONE_ID, "QUEUED", ticket="t-1")
    ended = started.cancel(CLONE_ID, reason="wrong template", by="ops")
    assert ended is not None
    before, after = ended
    assert before.status == "QUEUED" and after.status == "CANCELLED"
    job = started.get(CLONE_ID)
    assert dict(job) == {**after, "updatedAt": job["updatedAt"]}, "what the cancel returns is what the table holds"
    assert (job["status"], job["cancelReason"], job["cancelledBy"], job["errorCode"]) == (
        "CANCELLED",
        "wrong template",
        "ops",
        "CANCELLED",
    )
    assert job["ecwidTicketMayComplete"] is True
    assert started.cancel(CLONE_ID, reason=None, by="again") is None  # final: refused
    assert started.advance(CLONE_ID, "COMPLETED") is False  # a late poll cannot undo it
    assert started.cancel("unknown", reason=None, by="ops") is None


def test_a_waiting_job_cancelled_before_any_post_cannot_be_completed_by_ecwid(started):
    started.advance(CLONE_ID, "WAITING", slotNumber=7)
    ended = started.cancel(CLONE_ID, reason=None, by="ops")
    assert ended is not None and ended[0].slot_number == 7 and ended[1]["ecwidTicketMayComplete"] is False


def test_a_failed_job_is_linked_to_one_retry_whoever_asks_first(started):
    started.advance(CLONE_ID, "FAILED", errorCode="CLONE_FAILED")
    assert started.mark_retried(CLONE_ID, f"{CLONE_ID}-a2", "r-1", target_store_id=None) is None
    second = started.mark_retried(CLONE_ID, f"{CLONE_ID}-a3", "r-2")
    assert second is not None and second["retriedBy"] == f"{CLONE_ID}-a2" and second["retryRequestId"] == "r-1"
    started.record_intent("running", REQUEST)
    assert started.mark_retried("running", "running-a2", None)["status"] == "STARTING"  # not failed: refused


def test_personal_data_is_erased_only_from_an_ended_job(jobs):
    from ecwid_cloner.models import Merchant, StoreProfile

    request = CloneRequest(
        1003, None, merchant=Merchant("a@b.co", "Ann", "203.0.113.9"), profile=StoreProfile({"company.city": "Lyon"})
    )
    jobs.record_intent("new-1", request)
    assert jobs.erase_personal_data("new-1") is False and jobs.get("new-1")["merchant"]["email"] == "a@b.co"
    jobs.advance("new-1", "FAILED", errorCode="X")
    assert jobs.erase_personal_data("new-1") is True
    job = jobs.get("new-1")
    assert "merchant" not in job and "requestedProfile" not in job and job["personalDataErasedAt"]
    assert job["sourceStoreId"] == 1003 and job["errorCode"] == "X"


def test_counting_by_status_reads_every_page_with_the_filters(jobs):
    for index in range(30):
        jobs.record_intent(f"c-{index:02d}", CloneRequest(1003 + index % 2, 9000 + index, "CATALOG"))
        jobs.advance(f"c-{index:02d}", "FAILED", errorCode="A" if index % 3 else "B")
    assert jobs.count_by_status("FAILED")[0] == 30
    matched, sample = jobs.count_by_status("FAILED", error_code="B", source_store_id=1003, sample=3)
    assert matched == 5 and len(sample) == 3 and all(int(c[2:]) % 6 == 0 for c in sample)
    jobs.mark_retried("c-00", "c-00-a2", None)
    assert jobs.count_by_status("FAILED", not_retried=True)[0] == 29
