"""One contract, two stores: the jobs and mappings the steps use, on DynamoDB (moto) and in memory.

The step tests run on the in-memory ones; these tests keep them honest."""

from __future__ import annotations

import pytest

from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.data.mappings import MappingStore
from ecwid_cloner.models import CloneRequest, Merchant
from tests.memory_stores import MemoryJobs, MemoryMappings

CLONE_ID = "9001-abc"
REQUEST = CloneRequest(1003, 9001, scope="CATALOG")


@pytest.fixture(params=["dynamodb", "memory"])
def jobs(request):
    if request.param == "memory":
        return MemoryJobs()
    return JobsRepository(request.getfixturevalue("jobs_table"))


@pytest.fixture(params=["dynamodb", "memory"])
def mappings(request):
    if request.param == "memory":
        return MemoryMappings()
    table_name = request.getfixturevalue("mappings_table_name")
    return MappingStore(request.getfixturevalue("dynamodb_client"), table_name)


def test_the_intent_is_written_once_and_a_second_one_returns_the_first(jobs):
    job, created = jobs.record_intent(CLONE_ID, REQUEST)
    assert created and job.status == "STARTING" and job.request() == REQUEST
    jobs.advance(CLONE_ID, "QUEUED", ticket="t-1")
    again, created = jobs.record_intent(CLONE_ID, CloneRequest(1004, 9001))
    assert not created and again.status == "QUEUED" and again.source_store_id == 1003


def test_a_job_moves_only_forward_and_an_unknown_one_not_at_all(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    assert jobs.advance(CLONE_ID, "IN_PROGRESS", polls=2)
    assert jobs.advance(CLONE_ID, "IN_PROGRESS", polls=3), "the same status again: a retried step"
    assert not jobs.advance(CLONE_ID, "QUEUED")
    assert jobs.advance(CLONE_ID, "TIMED_OUT", errorCode="CLONE_TIMED_OUT")
    assert not jobs.advance(CLONE_ID, "COMPLETED"), "a final status never changes"
    job = jobs.get(CLONE_ID)
    assert job.status == "TIMED_OUT" and job.error_code == "CLONE_TIMED_OUT" and int(job["polls"]) == 3
    assert not jobs.advance("unknown", "QUEUED") and jobs.get("unknown") is None


def test_posts_are_counted_before_they_are_sent(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    assert [jobs.begin_post(CLONE_ID) for _ in range(3)] == [0, 1, 2]
    assert [jobs.begin_store_create(CLONE_ID) for _ in range(2)] == [0, 1]
    assert jobs.get(CLONE_ID).store_create_first_post_at is not None


def test_a_job_is_found_by_its_ticket(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.advance(CLONE_ID, "QUEUED", ticket="t-1")
    assert jobs.find_by_ticket("t-1").clone_id == CLONE_ID
    assert jobs.find_by_ticket("t-2") is None


def test_recent_durations_are_the_completed_clones_of_that_source_and_scope_newest_first(jobs):
    finished = [
        ("a", 1003, "CATALOG", "COMPLETED", {"durationSeconds": 300}),
        ("b", 1003, "CATALOG", "FAILED", {"durationSeconds": 50}),
        ("c", 1003, None, "COMPLETED", {"durationSeconds": 900}),
        ("d", 1004, "CATALOG", "COMPLETED", {"durationSeconds": 120}),
        ("e", 1003, "CATALOG", "COMPLETED", {"durationSeconds": 330, "cloneSeconds": 310}),
    ]
    for minute, (clone_id, source, scope, status, seconds) in enumerate(finished):
        jobs.record_intent(clone_id, CloneRequest(source, 9000 + minute, scope))
        jobs.advance(clone_id, status, finishedAt=f"2026-11-23T10:{minute:02d}:00Z", **seconds)
    jobs.record_intent("f", CloneRequest(1003, 9010, "CATALOG"))
    jobs.advance("f", "IN_PROGRESS")

    assert jobs.recent_durations(1003, "CATALOG") == [310.0, 300.0]
    assert jobs.recent_durations(1003, None) == [900.0]
    assert jobs.recent_durations(1005, "CATALOG") == []


def test_a_created_store_becomes_the_target_and_a_conflict_is_kept(jobs):
    merchant_request = CloneRequest(1003, None, merchant=Merchant("m@example.com", "M"), new_store=True)
    jobs.record_intent(CLONE_ID, merchant_request)
    assert jobs.get(CLONE_ID).target_store_id is None and not jobs.get(CLONE_ID).store_create_conflict
    jobs.record_store_create_conflict(CLONE_ID)
    jobs.record_created_store(CLONE_ID, 7001, token_saved=False, found_after_lost_answer=True)
    job = jobs.get(CLONE_ID)
    assert job.store_create_conflict and job.target_store_id == 7001 and not job.store_token_saved
    assert job["storeTokenUnknown"] is True and job.merchant.email == "m@example.com"


def test_a_step_outcome_is_kept_on_the_job(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.set_instant_site(CLONE_ID, {"status": "FAILED"})
    jobs.set_profile(CLONE_ID, {"status": "DONE"})
    job = jobs.get(CLONE_ID)
    assert job["instantSite"] == {"status": "FAILED"} and job["profile"] == {"status": "DONE"}


def test_mappings_are_counted_and_read_back_per_target_the_latest_winning(mappings):
    counts = mappings.write("c1", 9001, {"products": {"1": "10", "2": "20"}, "categories": {"5": "50"}})
    assert counts == {"products": 2, "categories": 1}
    mappings.write("c2", 9001, {"products": {"1": "11"}})
    assert mappings.get(9001, "products", "1") == "11"
    assert mappings.get(9001, "products", "2") == "20" and mappings.get(9001, "categories", "5") == "50"
    assert mappings.get(9002, "products", "1") is None


def test_an_event_not_published_is_kept_on_the_job_each_time(jobs):
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.record_event_failure(CLONE_ID, "Clone Completed", "x" * 400)
    jobs.record_event_failure(CLONE_ID, "Clone Failed", "throttled")
    failures = jobs.get(CLONE_ID)["eventFailures"]
    assert [(f["detailType"], len(f["error"])) for f in failures] == [("Clone Completed", 300), ("Clone Failed", 9)]
