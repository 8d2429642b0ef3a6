"""The polling policy, simulated over clone durations without any sleeping."""

from __future__ import annotations

import math

import pytest

from ecwid_cloner.polling import DEFAULT_POLICY, PollingPolicy, scaled_wait_seconds

POLICY = PollingPolicy()
DURATIONS = range(60, 901, 10)  # the spec: clones take 1 to 15 minutes


def simulate(policy: PollingPolicy, duration: float) -> tuple[int, float]:
    """Poll a clone that finishes ``duration`` s after its start, as the state machine
    does: wait next_wait(0, 0), poll, wait next_wait(polls, elapsed), poll, ...

    Returns (polls made, seconds between the finish and the poll that saw it).
    """
    elapsed = policy.next_wait(0, 0.0)
    polls = 1
    while elapsed < duration:
        wait = policy.next_wait(polls, elapsed)
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


@pytest.mark.parametrize(("virtual", "expected"), [(15.0, 15), (15.75, 15), (59.999, 59), (0.4, 0), (0.0, 0), (240.0, 240)])
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
