"""When the steps poll: PollTiming turns the policy's waits into Wait states, cuts a wait
the backlog set into hops, and says at each hop whether to wait on or poll."""

from __future__ import annotations

import pytest

from ecwid_cloner.polling import DEFAULT_POLICY, RecentDurations
from ecwid_cloner.steps.poll_timing import PollTiming, clone_draw

DURATIONS = RecentDurations(tuple(float(s) for s in range(100, 500, 10)))
NOW = 1_000_000.0
BACKLOG = DEFAULT_POLICY.backlog_seconds


def test_without_a_backlog_the_plan_is_the_quiet_wait_and_no_planned_poll():
    timing = PollTiming()
    for attempt, elapsed in ((0, 0.0), (1, 60.0), (5, 400.0)):
        wait, poll_at = timing.plan(attempt, NOW - elapsed, NOW, 3000.0, 0.0, durations=DURATIONS)
        assert poll_at is None and wait == timing.wait(attempt, elapsed, 3000.0)


def test_under_a_backlog_the_wait_runs_in_hops_up_to_the_planned_poll():
    timing = PollTiming()
    wait, poll_at = timing.plan(0, NOW, NOW, 3600.0, BACKLOG, durations=DURATIONS)
    p90 = DURATIONS.quantile(DEFAULT_POLICY.first_quantile)
    assert poll_at == pytest.approx(NOW + int(p90))
    assert wait == DEFAULT_POLICY.backlog_hop
    # A short planned wait is one hop.
    wait, poll_at = timing.plan(1, NOW - 489.0, NOW, 3000.0, BACKLOG, durations=DURATIONS)
    assert wait == DEFAULT_POLICY.min_interval and poll_at == NOW + wait
    # Never past the deadline.
    wait, poll_at = timing.plan(0, NOW, NOW, 30.0, BACKLOG, durations=DURATIONS)
    assert wait == 30 and poll_at == NOW + 30


def test_at_a_hop_the_step_waits_on_while_the_backlog_lasts_and_polls_when_it_is_gone():
    timing = PollTiming()
    poll_at = NOW + 300.0
    assert timing.check(poll_at, NOW, BACKLOG) == DEFAULT_POLICY.backlog_hop
    assert timing.check(poll_at, NOW + 250.0, BACKLOG + 20) == 50
    assert timing.check(poll_at, NOW + 250.0, BACKLOG - 1) is None, "the budget has room: poll now"
    assert timing.check(poll_at, NOW + 299.5, BACKLOG) is None, "due"


def test_a_retry_after_stretches_the_planned_poll():
    wait, poll_at = PollTiming().plan(1, NOW - 489.0, NOW, 3000.0, BACKLOG, durations=DURATIONS, min_wait=90.0)
    assert poll_at == NOW + 90 and wait == 90


def test_the_local_scale_shrinks_the_hops_and_reads_the_backlog_in_scaled_seconds():
    timing = PollTiming(poll_scale=0.02)
    # 0.2 real seconds of backlog at scale 0.02 are the policy's 10 s.
    assert not timing.under_backlog(0.19) and timing.under_backlog(0.2)
    scaled = RecentDurations(tuple(s for s in DURATIONS.seconds))  # the policy's seconds, as StartClone keeps them
    wait, poll_at = timing.plan(0, NOW, NOW, 72.0, 0.2, durations=scaled)
    assert wait == int(DEFAULT_POLICY.backlog_hop * 0.02)
    assert poll_at == pytest.approx(NOW + int(scaled.quantile(DEFAULT_POLICY.first_quantile) * 0.02))


def test_a_clone_draw_is_fixed_by_its_id_and_spread_evenly():
    assert clone_draw("2001-abc") == clone_draw("2001-abc")
    draws = [clone_draw(f"new-{i}") for i in range(4000)]
    assert all(0 <= d < 1 for d in draws)
    assert sum(d < 0.5 for d in draws) == pytest.approx(2000, abs=120)
    assert sum(d < 0.1 for d in draws) == pytest.approx(400, abs=60)
