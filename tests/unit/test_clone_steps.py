"""StartClone and CheckCloneStatus in milliseconds: in-memory jobs and mappings, a fake Ecwid
client answering from a script, a clock the test moves. A step that raises is what the state
machine's Retry runs again, so a test "retries" by calling the step a second time."""

from __future__ import annotations

import pytest

from ecwid_cloner.errors import EcwidRateLimitedError, EcwidRetryableError, EcwidTerminalError, TargetBusyError
from ecwid_cloner.models import CloneRequest, CloneStatus
from ecwid_cloner.state import CloneState, Failure
from ecwid_cloner.steps.check_clone_status import CheckCloneStatus
from ecwid_cloner.steps.poll_timing import PollTiming
from ecwid_cloner.steps.start_clone import StartClone
from tests.fake_ecwid import FakeCloneClient
from tests.memory_stores import MemoryMappings

CLONE_ID = "9001-abc"
REQUEST = CloneRequest(1003, 9001, scope="CATALOG")
DEADLINE = 1800.0


def _timing(clock):
    return PollTiming(deadline_seconds=DEADLINE, clock=clock)


def _start(jobs, client, clock):
    return StartClone(lambda: client, jobs, _timing(clock))


def _started(jobs, clock, ticket="t-1"):
    """A clone StartClone started on ``ticket``: its state, for CheckCloneStatus."""
    return _start(jobs, FakeCloneClient(starts=[ticket]), clock)(CloneState(CLONE_ID, REQUEST))


def _check(jobs, client, clock, mappings=None):
    return CheckCloneStatus(lambda: client, jobs, mappings or MemoryMappings(), _timing(clock))


def _lost() -> EcwidRetryableError:
    return EcwidRetryableError("TIMEOUT", "Ecwid did not answer in time")


# ---- StartClone: the ticket, once -----------------------------------------------------


def test_a_retry_after_a_post_whose_answer_was_lost_follows_the_ticket_ecwid_names(jobs, clock):
    client = FakeCloneClient(starts=[_lost(), TargetBusyError("target busy", running_ticket="t-lost")])
    step = _start(jobs, client, clock)
    with pytest.raises(EcwidRetryableError):
        step(CloneState(CLONE_ID, REQUEST))
    state = step(CloneState(CLONE_ID, REQUEST))
    assert (state.ticket, state.status) == ("t-lost", "QUEUED")
    assert jobs.get(CLONE_ID).ticket == "t-lost" and jobs.get(CLONE_ID).status == "QUEUED"
    assert len(client.posted) == 2, "adopted, not posted a third time"


def test_a_target_busy_with_an_unknown_ticket_before_any_post_of_ours_is_somebody_elses(jobs, clock):
    client = FakeCloneClient(starts=[TargetBusyError("target busy", running_ticket="t-theirs")])
    with pytest.raises(TargetBusyError):
        _start(jobs, client, clock)(CloneState(CLONE_ID, REQUEST))
    assert jobs.get(CLONE_ID).ticket is None


@pytest.mark.parametrize(
    ("other_request", "adopted"),
    [(REQUEST, True), (CloneRequest(1003, 9001, scope="STORE_SETTINGS"), False), (CloneRequest(1004, 9001), False)],
    ids=["same-clone", "other-scope", "other-source"],
)
def test_a_target_busy_with_our_own_ticket_is_followed_only_for_the_same_clone(jobs, clock, other_request, adopted):
    jobs.record_intent("9001-earlier", other_request)
    jobs.advance("9001-earlier", "QUEUED", ticket="t-ours")
    client = FakeCloneClient(starts=[TargetBusyError("target busy", running_ticket="t-ours")])
    step = _start(jobs, client, clock)
    if adopted:
        assert step(CloneState(CLONE_ID, REQUEST)).ticket == "t-ours"
    else:
        with pytest.raises(TargetBusyError):
            step(CloneState(CLONE_ID, REQUEST))


def test_a_full_target_after_an_unanswered_post_says_the_clone_answer_was_lost(jobs, clock):
    full = EcwidTerminalError("TARGET_PRODUCTS_NOT_EMPTY", "Target store has products", 400)
    step = _start(jobs, FakeCloneClient(starts=[_lost(), full]), clock)
    with pytest.raises(EcwidRetryableError):
        step(CloneState(CLONE_ID, REQUEST))
    with pytest.raises(EcwidTerminalError) as lost:
        step(CloneState(CLONE_ID, REQUEST))
    assert lost.value.code == "CLONE_ANSWER_LOST" and "Target store has products" in lost.value.message


def test_a_full_target_at_the_first_post_is_the_ecwid_error_as_it_is(jobs, clock):
    full = EcwidTerminalError("TARGET_PRODUCTS_NOT_EMPTY", "Target store has products", 400)
    with pytest.raises(EcwidTerminalError) as refused:
        _start(jobs, FakeCloneClient(starts=[full]), clock)(CloneState(CLONE_ID, REQUEST))
    assert refused.value.code == "TARGET_PRODUCTS_NOT_EMPTY"


def test_a_rerun_after_the_ticket_was_recorded_posts_nothing_and_keeps_the_start(jobs, clock):
    first = _started(jobs, clock, "t-1")
    clock.advance(30)
    client = FakeCloneClient()  # no answer scripted: a POST would fail the test
    again = _start(jobs, client, clock)(CloneState(CLONE_ID, REQUEST))
    assert again.ticket == "t-1" and client.posted == []
    assert again.poll.started_at == first.poll.started_at and again.poll.deadline_at == first.poll.deadline_at


def test_a_rerun_of_a_finished_clone_reports_the_job_and_calls_nobody(jobs, clock):
    jobs.record_intent(CLONE_ID, REQUEST)
    jobs.advance(CLONE_ID, "FAILED", ticket="t-1", errorCode="SOURCE_NOT_FOUND", errorMessage="gone")
    state = _start(jobs, FakeCloneClient(), clock)(CloneState(CLONE_ID, REQUEST))
    assert state.status == "FAILED" and state.failure == Failure("SOURCE_NOT_FOUND", "gone")


def test_the_deadline_runs_from_the_start(jobs, clock):
    state = _started(jobs, clock)
    assert state.poll.deadline_at == clock.now + DEADLINE
    assert 0 < state.poll.wait_seconds < DEADLINE


# ---- CheckCloneStatus: to the end, or to the deadline --------------------------------


def test_a_completed_clone_writes_its_mapping_and_passes_on_counts_only(jobs, clock):
    state = _started(jobs, clock)
    mappings = MemoryMappings()
    done = CloneStatus("COMPLETED", products={"1": "10", "2": "20"}, categories={"5": "50"})
    step = _check(jobs, FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS"), done]), clock, mappings)
    state = step(state)
    assert state.status == "IN_PROGRESS" and jobs.get(CLONE_ID).status == "IN_PROGRESS"
    clock.advance(state.poll.wait_seconds)
    state = step(state)
    assert state.status == "COMPLETED" and state.result == {"products": 2, "categories": 1}
    assert mappings.get(9001, "products", "2") == "20" and mappings.get(9001, "categories", "5") == "50"
    job = jobs.get(CLONE_ID)
    assert job.status == "COMPLETED" and job.counts == {"products": 2, "categories": 1} and int(job["polls"]) == 2


def test_a_failed_ticket_ends_the_clone_with_ecwids_message(jobs, clock):
    state = _started(jobs, clock)
    failed = CloneStatus("FAILED", error_message="Source went away")
    state = _check(jobs, FakeCloneClient(statuses=[failed]), clock)(state)
    assert state.status == "FAILED" and state.failure == Failure("CLONE_FAILED", "Source went away")
    assert jobs.get(CLONE_ID).status == "FAILED"


def test_a_clone_still_running_at_its_deadline_is_timed_out(jobs, clock):
    state = _started(jobs, clock)
    clock.advance(DEADLINE + 1)
    state = _check(jobs, FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS")]), clock)(state)
    assert state.status == "TIMED_OUT" and state.failure.error_code == "CLONE_TIMED_OUT"
    job = jobs.get(CLONE_ID)
    assert job.status == "TIMED_OUT" and job.error_code == "CLONE_TIMED_OUT"


def test_no_wait_sleeps_past_the_deadline(jobs, clock):
    state = _started(jobs, clock)
    clock.advance(DEADLINE - 5)
    state = _check(jobs, FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS")]), clock)(state)
    assert state.status == "IN_PROGRESS" and 1 <= state.poll.wait_seconds <= 5


def test_failed_polls_do_not_fail_the_clone_only_the_deadline_does(jobs, clock):
    state = _started(jobs, clock)
    step = _check(jobs, FakeCloneClient(statuses=[_lost(), _lost(), _lost()]), clock)
    for _ in range(2):
        clock.advance(state.poll.wait_seconds)
        state = step(state)
    assert state.status == "QUEUED" and state.poll.transient_errors == 2 and state.poll.last_error == "TIMEOUT"
    clock.advance(DEADLINE)
    state = step(state)
    assert state.status == "TIMED_OUT" and jobs.get(CLONE_ID).status == "TIMED_OUT"


def test_a_rate_limited_poll_waits_at_least_what_retry_after_asks(jobs, clock):
    state = _started(jobs, clock)
    plain = _check(jobs, FakeCloneClient(statuses=[_lost()]), clock)(state)
    asked = plain.poll.wait_seconds + 100  # longer than the policy would wait
    limited = _check(jobs, FakeCloneClient(statuses=[EcwidRateLimitedError("slow down", retry_after=asked)]), clock)(
        state
    )
    assert limited.poll.wait_seconds == asked and limited.poll.last_error == "RATE_LIMITED"
    assert limited.status == "QUEUED" and limited.poll.transient_errors == 1


def test_retry_after_never_sleeps_past_the_deadline(jobs, clock):
    state = _started(jobs, clock)
    clock.advance(DEADLINE - 100)
    limited = EcwidRateLimitedError("slow down", retry_after=3600)
    state = _check(jobs, FakeCloneClient(statuses=[limited]), clock)(state)
    assert state.poll.wait_seconds == 100
