"""The polling policy, simulated over clone durations without any sleeping."""

from __future__ import annotations

import math
import random
import statistics
from decimal import Decimal

import pytest

from ecwid_cloner.polling import (
    DEFAULT_POLICY,
    PollingPolicy,
    RecentDurations,
    expected_duration,
    learned_duration,
    scaled_wait_seconds,
)

POLICY = PollingPolicy()
DURATIONS = range(60, 901, 10)  # the spec: clones take 1 to 15 minutes


def simulate(policy: PollingPolicy, duration: float, expected: float | None = None) -> tuple[int, float]:
    """Poll a clone that finishes ``duration`` s after its start, as the state machine
    does: wait next_wait(0, 0), poll, wait next_wait(polls, elapsed), poll, ...
    (with ``expected``, the learned policy: next_wait(..., expected=expected)).

    Returns (polls made, seconds between the finish and the poll that saw it).
    """
    elapsed = policy.next_wait(0, 0.0, expected=expected)
    polls = 1
    while elapsed < duration:
        wait = policy.next_wait(polls, elapsed, expected=expected)
        assert wait > 0, f"zero wait after poll {polls} at {elapsed} s: the loop would spin"
        elapsed += wait
        polls += 1
        assert polls < 1000
    return polls, elapsed - duration


def fixed_poller_polls(interval: float, duration: float) -> int:
    return math.ceil(duration / interval)


def test_the_default_policy_is_the_documented_one():
    assert DEFAULT_POLICY == PollingPolicy(first_wait=60.0, min_interval=15.0, growth=0.15, max_interval=240.0)


def test_the_first_wait_is_first_wait():
    assert POLICY.next_wait(0, 0.0) == 60.0
    assert PollingPolicy(first_wait=90.0).next_wait(0, 0.0) == 90.0


def test_the_first_wait_counts_the_time_already_spent():
    # A StartClone that took a while (retries) shortens the first wait, never below zero.
    assert POLICY.next_wait(0, 20.0) == 40.0
    assert POLICY.next_wait(0, 60.0) == 0.0
    assert POLICY.next_wait(0, 500.0) == 0.0


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (60.0, 15.0),  # 0.15 * 60 = 9 -> min_interval
        (100.0, 15.0),  # exactly 15
        (200.0, 30.0),
        (600.0, 90.0),
        (1600.0, 240.0),  # exactly max_interval
        (5000.0, 240.0),  # capped
    ],
)
def test_the_wait_after_a_poll_grows_with_elapsed_within_bounds(elapsed, expected):
    assert POLICY.next_wait(3, elapsed) == pytest.approx(expected)


def test_the_wait_after_a_poll_is_monotonic_and_bounded():
    previous = 0.0
    for elapsed in range(0, 4000, 5):
        wait = POLICY.next_wait(5, float(elapsed))
        assert POLICY.min_interval <= wait <= POLICY.max_interval
        assert wait >= previous
        previous = wait


def test_the_wait_after_a_poll_does_not_depend_on_the_attempt_number():
    assert {POLICY.next_wait(attempt, 300.0) for attempt in (1, 2, 10, 100)} == {45.0}


def test_custom_bounds_are_honoured():
    policy = PollingPolicy(first_wait=10, min_interval=2, growth=0.5, max_interval=20)
    assert policy.next_wait(1, 1.0) == 2
    assert policy.next_wait(1, 10.0) == 5
    assert policy.next_wait(1, 100.0) == 20


@pytest.mark.parametrize("duration", DURATIONS)
def test_every_finish_is_seen_within_15_percent_of_its_duration(duration):
    polls, late = simulate(POLICY, duration)
    assert late >= 0
    assert late <= max(15.0, 0.15 * duration), f"{duration} s clone seen {late:.1f} s late"


def test_a_900_s_clone_needs_at_most_20_polls_fewer_than_a_fixed_30_s_poller():
    polls, _ = simulate(POLICY, 900)
    assert polls <= 20
    assert polls < fixed_poller_polls(30, 900) == 30


def test_a_clone_finishing_at_the_first_wait_is_seen_by_the_first_poll():
    assert simulate(POLICY, 60) == (1, 0.0)


# -- scaled_wait_seconds -------------------------------------------------------------------


@pytest.mark.parametrize("virtual", [0.0, 1.0, 15.0, 30.0, 60.0, 90.0, 240.0])
def test_a_local_scale_gives_whole_seconds_of_at_least_one(virtual):
    seconds = scaled_wait_seconds(virtual, 0.02)
    assert isinstance(seconds, int)
    assert seconds >= 1
    assert seconds == max(1, math.floor(virtual * 0.02))


def test_a_local_scale_shrinks_long_waits():
    assert scaled_wait_seconds(240.0, 0.02) == 4
    assert scaled_wait_seconds(100.0, 0.1) == 10


@pytest.mark.parametrize(
    ("virtual", "expected"), [(15.0, 15), (15.75, 15), (59.999, 59), (0.4, 0), (0.0, 0), (240.0, 240)]
)
def test_scale_one_floors(virtual, expected):
    seconds = scaled_wait_seconds(virtual, 1.0)
    assert isinstance(seconds, int)
    assert seconds == expected


def test_remaining_caps_the_wait():
    assert scaled_wait_seconds(240.0, 1.0, remaining=100.0) == 100
    assert scaled_wait_seconds(240.0, 1.0, remaining=37.9) == 37
    assert scaled_wait_seconds(30.0, 1.0, remaining=100.0) == 30
    assert scaled_wait_seconds(240.0, 0.1, remaining=5.5) == 5


@pytest.mark.parametrize("remaining", [0.0, -1.0, -1000.0])
@pytest.mark.parametrize("scale", [1.0, 0.02])
def test_the_wait_is_never_negative(remaining, scale):
    seconds = scaled_wait_seconds(60.0, scale, remaining=remaining)
    assert seconds >= 0
    assert seconds <= 1  # the deadline has passed: check it at once (or after the local floor)


def test_the_wait_past_the_deadline_is_zero_at_full_scale():
    assert scaled_wait_seconds(60.0, 1.0, remaining=-5.0) == 0


# -- expected_duration: what earlier clones of the same source say ---------------------------


def test_no_estimate_without_enough_history():
    assert expected_duration([]) is None
    assert expected_duration([300.0] * 4) is None
    assert expected_duration([300.0] * 5) is not None
    assert expected_duration([300.0, 310.0], min_samples=2) is not None


def test_the_estimate_is_a_low_one_below_the_fastest_and_the_median():
    # min(0.85 * fastest, 0.6 * median)
    assert expected_duration([300.0, 320.0, 280.0, 310.0, 290.0]) == pytest.approx(min(0.85 * 280, 0.6 * 300))
    # History all about the same: the fastest bounds it...
    assert expected_duration([500.0, 500.0, 500.0, 500.0, 500.0]) == pytest.approx(0.6 * 500)
    # ...a wide spread: the fastest bounds it.
    assert expected_duration([100.0, 400.0, 420.0, 430.0, 440.0]) == pytest.approx(0.85 * 100)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert expected_duration([100.0, 200.0, 300.0, 400.0], min_samples=4) == pytest.approx(min(0.85 * 100, 0.6 * 250))


def test_only_the_most_recent_durations_count():
    recent_first = [600.0] * 10 + [60.0] * 10  # the template grew: old fast clones are forgotten
    assert expected_duration(recent_first) == pytest.approx(0.6 * 600)
    assert expected_duration(recent_first, last=11) == pytest.approx(0.85 * 60)


def test_an_odd_fast_clone_lowers_the_estimate_an_odd_slow_one_does_not_raise_it():
    usual = [400.0, 410.0, 390.0, 405.0, 395.0, 400.0]
    assert expected_duration([120.0, *usual]) < expected_duration(usual)
    assert expected_duration([3000.0, *usual]) == pytest.approx(expected_duration(usual))


def test_unusable_durations_are_skipped_and_decimals_are_read():
    junk = [None, "soon", float("nan"), float("inf"), 0, -5.0]
    assert expected_duration([*junk, 300.0, 300.0, 300.0, 300.0]) is None
    assert expected_duration([*junk, *[Decimal("300.5")] * 5]) == pytest.approx(0.6 * 300.5)


# -- next_wait with an expected duration ----------------------------------------------------


@pytest.mark.parametrize("expected", [None, 0, -10.0, float("nan"), float("inf"), "abc"])
def test_without_a_usable_expected_duration_the_plain_policy_runs(expected):
    for attempt in (0, 1, 5):
        for elapsed in (0.0, 30.0, 60.0, 400.0, 2000.0):
            assert POLICY.next_wait(attempt, elapsed, expected=expected) == POLICY.next_wait(attempt, elapsed)


@pytest.mark.parametrize(("expected", "first"), [(400.0, 460.0), (50.0, 65.0), (100.0, 115.0), (1000.0, 1150.0)])
def test_the_first_look_comes_when_any_finish_after_e_is_still_seen_in_time(expected, first):
    # E + max(min_interval, growth * E)
    assert POLICY.next_wait(0, 0.0, expected=expected) == pytest.approx(first)
    assert POLICY.next_wait(0, 100.0, expected=expected) == pytest.approx(max(0.0, first - 100.0))
    assert POLICY.next_wait(0, 5000.0, expected=expected) == 0.0


def test_the_first_look_is_never_before_the_plain_first_wait():
    assert POLICY.next_wait(0, 0.0, expected=30.0) == POLICY.first_wait
    assert POLICY.next_wait(0, 20.0, expected=30.0) == POLICY.first_wait - 20.0


def test_after_the_first_poll_the_waits_are_the_plain_ones():
    # The plain waits are already the longest the lag bound allows.
    for expected in (30.0, 90.0, 300.0, 700.0):
        for attempt in (1, 2, 7):
            for elapsed in range(0, 3000, 7):
                assert POLICY.next_wait(attempt, float(elapsed), expected=expected) == POLICY.next_wait(
                    attempt, float(elapsed)
                )


@pytest.mark.parametrize("expected", [30.0, 63.0, 200.0, 450.0, 700.0])
def test_no_finish_time_costs_more_polls_than_the_plain_policy(expected):
    for duration in range(60, 1801, 3):
        assert simulate(POLICY, duration, expected=expected)[0] <= simulate(POLICY, duration)[0]


@pytest.mark.parametrize("expected", [40.0, 63.0, 200.0, 450.0, 700.0])
def test_every_finish_after_e_is_seen_within_the_plain_guarantee(expected):
    for duration in range(int(max(expected, POLICY.first_wait)), 1801, 3):
        polls, late = simulate(POLICY, duration, expected=expected)
        assert 0 <= late <= max(15.0, 0.15 * duration), f"E={expected}: {duration} s clone seen {late:.1f} s late"


def test_a_clone_faster_than_e_is_seen_by_the_first_poll():
    expected = 400.0
    first = POLICY.next_wait(0, 0.0, expected=expected)
    assert simulate(POLICY, 250.0, expected=expected) == (1, pytest.approx(first - 250.0))


@pytest.mark.parametrize("mean", [90.0, 150.0, 240.0, 360.0, 480.0, 660.0])
def test_repeat_clones_take_a_median_of_at_most_4_polls_and_are_seen_in_time(mean):
    # Earlier clones within +-30 % of the template's mean, most recent first; the next one too.
    history = [mean * share for share in (1.1, 0.8, 1.25, 0.95, 0.72, 1.05, 1.3, 0.9, 1.0, 0.85)]
    expected = expected_duration(history)
    durations = [mean * (0.7 + 0.6 * i / 60) for i in range(61)]
    outcomes = [simulate(POLICY, duration, expected=expected) for duration in durations]
    polls = sorted(p for p, _ in outcomes)
    assert polls[len(polls) // 2] <= 4
    assert all(late <= max(15.0, 0.15 * d) for (_, late), d in zip(outcomes, durations, strict=True))
    assert sorted(late / d for (_, late), d in zip(outcomes, durations, strict=True))[len(outcomes) // 2] <= 0.10
    plain = [simulate(POLICY, duration)[0] for duration in durations]
    assert sum(polls) < sum(plain)


# -- under a backlog of the request budget ----------------------------------------------------

HISTORY = [float(seconds) for seconds in range(100, 500, 10)]  # 40 recent durations, 100..490 s
BACKLOG = POLICY.backlog_seconds  # the smallest backlog that counts


def test_recent_durations_need_enough_usable_history():
    assert RecentDurations.of(HISTORY[:9]) is None  # fewer than ten
    assert RecentDurations.of([None, "x", float("nan"), 0, -1.0, *HISTORY[:9]]) is None
    durations = RecentDurations.of([*HISTORY, 10_000.0])  # only the 40 most recent count
    assert durations is not None and durations.seconds == tuple(HISTORY)
    assert RecentDurations.of([Decimal("300")] * 10) == RecentDurations((300.0,) * 10)


def test_a_quantile_and_its_level_invert_each_other():
    durations = RecentDurations.of(HISTORY)
    assert durations is not None
    assert durations.quantile(0) == 100 and durations.quantile(1) == 490
    assert durations.quantile(0.5) == pytest.approx(295)
    for level in (0.0, 0.1, 0.37, 0.5, 0.9, 0.99):
        assert durations.level(durations.quantile(level)) == pytest.approx(level)
    assert durations.level(50) == 0 and durations.level(1000) == 1


@pytest.mark.parametrize("backlog", [0.0, BACKLOG - 0.1])
def test_without_a_backlog_the_waits_are_the_quiet_ones(backlog):
    durations = RecentDurations.of(HISTORY)
    for expected in (None, 200.0):
        for attempt in (0, 1, 4):
            for elapsed in (0.0, 45.0, 300.0, 2000.0):
                quiet = POLICY.next_wait(attempt, elapsed, expected)
                assert POLICY.next_wait(attempt, elapsed, expected, backlog=backlog, durations=durations) == quiet


def test_under_a_backlog_the_first_poll_goes_at_a_high_quantile_of_the_recent_durations():
    durations = RecentDurations.of(HISTORY)
    assert durations is not None
    p90 = durations.quantile(POLICY.first_quantile)
    assert POLICY.next_wait(0, 0.0, 150.0, backlog=BACKLOG, durations=durations) == pytest.approx(p90)
    assert POLICY.next_wait(0, 30.0, backlog=BACKLOG, durations=durations) == pytest.approx(p90 - 30)
    fast = RecentDurations((20.0,) * 10)  # never before the first wait
    assert POLICY.next_wait(0, 0.0, backlog=BACKLOG, durations=fast) == POLICY.first_wait


def test_under_a_backlog_later_polls_step_by_what_is_left_of_the_distribution():
    durations = RecentDurations.of(HISTORY)
    assert durations is not None
    elapsed = durations.quantile(0.9)
    second = elapsed + POLICY.next_wait(1, elapsed, backlog=BACKLOG, durations=durations)
    assert durations.level(second) == pytest.approx(0.9 + POLICY.step_quantile * 0.1)
    # A clone whose quiet-time polls came early (the backlog began later) jumps to the first quantile.
    assert POLICY.next_wait(3, 120.0, backlog=BACKLOG, durations=durations) == pytest.approx(
        durations.quantile(POLICY.first_quantile) - 120.0
    )
    # Never closer than the quiet policy's smallest wait.
    assert POLICY.next_wait(2, 489.0, backlog=BACKLOG, durations=durations) == POLICY.min_interval


def test_past_the_slowest_recent_clone_or_without_history_the_waits_grow_faster_than_quiet_ones():
    durations = RecentDurations.of(HISTORY)
    for history in (durations, None):
        assert POLICY.next_wait(1, 500.0, backlog=BACKLOG, durations=history) == pytest.approx(
            min(POLICY.max_interval, POLICY.backlog_growth * 500.0)
        )
    assert POLICY.next_wait(0, 0.0, backlog=BACKLOG) == POLICY.first_wait
    assert POLICY.next_wait(1, 20.0, backlog=BACKLOG) == POLICY.min_interval
    assert POLICY.next_wait(1, 60.0, backlog=BACKLOG) == pytest.approx(POLICY.backlog_growth * 60.0)


def simulate_under_backlog(durations: RecentDurations, duration: float) -> tuple[int, float, float]:
    """(polls, the last poll that saw it running, the poll that saw it) for a clone under a
    lasting backlog, as StartClone and CheckCloneStatus compute the waits."""
    elapsed = POLICY.next_wait(0, 0.0, backlog=BACKLOG, durations=durations)
    polls, running_seen = 1, 0.0
    while elapsed < duration:
        wait = POLICY.next_wait(polls, elapsed, backlog=BACKLOG, durations=durations)
        assert wait > 0
        running_seen, elapsed, polls = elapsed, elapsed + wait, polls + 1
    return polls, running_seen, elapsed


def test_under_a_backlog_a_clone_like_the_recent_ones_takes_about_one_poll():
    durations = RecentDurations.of(HISTORY)
    assert durations is not None
    clones = [100.0 + 390.0 * i / 199 for i in range(200)]  # spread as the history is
    polls = [simulate_under_backlog(durations, duration)[0] for duration in clones]
    quiet = [simulate(POLICY, duration)[0] for duration in clones]
    assert sum(p == 1 for p in polls) / len(polls) == pytest.approx(POLICY.first_quantile, abs=0.02)
    assert statistics.mean(polls) < 1.2 and statistics.mean(quiet) > 5


def test_a_finish_seen_by_quiet_polls_is_learned_as_seen():
    durations = RecentDurations.of(HISTORY)
    assert learned_duration(312.0, 280.0, False, durations, 0.7) == 312.0


def test_a_finish_only_bracketed_by_backlog_polls_is_learned_within_the_bracket():
    durations = RecentDurations.of(HISTORY)
    assert durations is not None
    for low, high in ((0.0, 451.0), (451.0, 480.0), (200.0, 205.0)):
        draws = [learned_duration(high, low, True, durations, i / 100) for i in range(101)]
        assert all(low <= d <= high for d in draws) and draws == sorted(draws)
    # Within the bracket, the recent durations' shape: half the draws below their median there.
    median_below = durations.quantile(durations.level(451.0) / 2)
    assert learned_duration(451.0, 0.0, True, durations, 0.5) == pytest.approx(median_below)
    # Past every recent duration, or with no history: even over the bracket.
    assert learned_duration(700.0, 600.0, True, durations, 0.25) == pytest.approx(625.0)
    assert learned_duration(400.0, 0.0, True, None, 0.25) == pytest.approx(100.0)


def test_learning_from_backlog_polls_keeps_the_first_poll_at_the_real_quantile_burst_after_burst():
    """Clones polled under a backlog, generation after generation, each planned from the 40
    durations learned before it: the first poll stays at the real durations' p90 and sees
    about 90 % of the clones. (Recording the poll that saw the finish instead pushes the
    first poll to the slowest clone within a few dozen generations.) Below the first poll the
    polls observe nothing, so the learned shape there is not pinned: only the quantiles the
    polls sit on are."""
    rng = random.Random(7)
    real = sorted(min(900.0, max(60.0, 240.0 * rng.lognormvariate(0.0, 0.6))) for _ in range(20_000))
    real_p90 = real[int(POLICY.first_quantile * len(real))]
    learned = [real[i] for i in range(0, 20_000, 500)]  # a quiet-time history to start from
    first_polls, first_poll_shares = [], []
    for _ in range(100):
        durations = RecentDurations.of(reversed(learned[-40:]))
        assert durations is not None
        first_polls.append(durations.quantile(POLICY.first_quantile))
        seen_first = 0
        for _ in range(50):
            polls, running_seen, seen = simulate_under_backlog(durations, rng.choice(real))
            seen_first += polls == 1
            learned.append(learned_duration(seen, running_seen, True, durations, rng.random()))
        first_poll_shares.append(seen_first / 50)
    assert statistics.mean(first_polls[50:]) == pytest.approx(real_p90, rel=0.05)
    assert statistics.mean(first_poll_shares[50:]) == pytest.approx(POLICY.first_quantile, abs=0.03)
