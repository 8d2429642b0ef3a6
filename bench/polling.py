"""The polling policy against fixed-interval pollers, and learned from earlier clones.

    .venv/bin/python bench/polling.py [--seed 1] [--robustness-seeds 50]

No sleeping, no AWS: each poller is run as the Lambdas run it. StartClone
computes the first wait, every CheckCloneStatus the next one, both through
``scaled_wait_seconds(policy.next_wait(...), 1, remaining)`` (whole seconds,
deadline 3600 s); a clone that finishes at T is seen by the first poll at or
after T.

1. Plain policy (``DEFAULT_POLICY``) beside fixed 10 s, 30 s and 60 s pollers,
   over clones of 60 to 900 s every 10 s and a realistic mix (log-normal,
   median 240 s, sigma 0.6, clipped to 60..900 s, seeded).
2. Learned: six templates (means 90..660 s), each cloned 40 times, every
   duration uniform within +-30 % of its template's mean (seeded). Once a
   template has 5 earlier clones, ``expected_duration`` of the durations the
   jobs table would hold (start to the poll that saw COMPLETED, most recent
   first) feeds ``next_wait(..., expected=E)``; the plain policy is run on the
   same clones beside it.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "cloner")]

from ecwid_cloner.polling import (  # noqa: E402
    DEFAULT_POLICY,
    MIN_HISTORY,
    expected_duration,
    scaled_wait_seconds,
)

DEADLINE = 3600.0
GRID = range(60, 901, 10)
SHORT = range(60, 181, 10)  # "short clones": up to 3 minutes
TEMPLATE_MEANS = (90, 150, 240, 360, 480, 660)  # +-30 % stays within 63..858 s
CLONES_PER_TEMPLATE = 40
SPREAD = 0.30

# -- prices (us-east-1 list prices) and the assumptions behind the cost ----------------
SFN_PER_TRANSITION = 0.025 / 1000  # Standard workflows
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000133334  # arm64
START_GB, START_SECONDS = 0.5, 0.4  # StartClone: 512 MB, one Ecwid POST + two DynamoDB writes
CHECK_GB = 1.0  # CheckCloneStatus: 1024 MB (template.yaml)
POLL_SECONDS = 0.15  # a poll that sees QUEUED / IN_PROGRESS: one Ecwid GET
COMPLETING_POLL_SECONDS = 2.0  # the poll that sees COMPLETED writes the mapping: the same for every poller

Waits = Callable[[int, float], float]  # (polls so far, elapsed) -> seconds, as PollingPolicy.next_wait


def transitions(polls: int) -> int:
    """Standard-workflow state transitions of one COMPLETED clone
    (statemachine/clone_store.asl.json): StartClone, RouteByStatus, then per poll
    WaitForClone -> CheckCloneStatus -> RouteByStatus, and CloneCompleted."""
    return 2 + 3 * polls + 1


def cost_per_clone(polls: int) -> tuple[float, float]:
    """(Step Functions $, Lambda $) of one COMPLETED clone."""
    sfn = transitions(polls) * SFN_PER_TRANSITION
    gb_seconds = START_GB * START_SECONDS + CHECK_GB * (POLL_SECONDS * (polls - 1) + COMPLETING_POLL_SECONDS)
    return sfn, (1 + polls) * LAMBDA_PER_REQUEST + gb_seconds * LAMBDA_PER_GB_SECOND


def poll_times(waits: Waits, until: float) -> list[float]:
    """Elapsed seconds of every poll of a clone still running at ``until``, and the next one."""
    elapsed, times = 0.0, list[float]()
    while not times or times[-1] < until:
        wait = scaled_wait_seconds(waits(len(times), elapsed), 1.0, DEADLINE - elapsed)
        if times and wait <= 0:
            raise AssertionError(f"zero wait after poll {len(times)} at {elapsed} s: the loop would spin")
        elapsed += wait
        times.append(elapsed)
    return times


def detect(waits: Waits, duration: float) -> tuple[int, float]:
    """(polls, seconds from the finish to the poll that saw it) for a clone of ``duration`` s."""
    times = poll_times(waits, duration)
    return len(times), times[-1] - duration


def allowed_lag(duration: float) -> float:
    return max(15.0, 0.15 * duration)


def worst_lag(waits: Waits, low: float, high: float) -> tuple[float, float, float]:
    """The worst detection lag over every finish time T in [low, high], not only a grid:
    (seconds, share of T, share of the allowance max(15 s, 15 % of T); <= 1 is within it).

    Between two polls p < q a finish just after p waits longest, q - p; the
    allowance grows with T, so the start of each stretch is its worst point.
    """
    times = [0.0, *poll_times(waits, high)]
    worst_seconds = worst_share = worst_allowance = 0.0
    for previous, poll in itertools.pairwise(times):
        if poll < low or previous >= high:
            continue
        start = max(previous, low)
        lag = poll - start
        worst_seconds = max(worst_seconds, lag)
        worst_share = max(worst_share, lag / start)
        worst_allowance = max(worst_allowance, lag / allowed_lag(start))
    return worst_seconds, worst_share, worst_allowance


def fixed(interval: float) -> Waits:
    return lambda attempt, elapsed: interval


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def realistic_mix(seed: int, count: int = 1000) -> list[float]:
    rng = random.Random(seed)
    return [min(900.0, max(60.0, 240.0 * rng.lognormvariate(0.0, 0.6))) for _ in range(count)]


def money(value: float) -> str:
    return f"${value:,.4f}"


# -- 1. plain policy beside fixed pollers ------------------------------------------------


def compare_pollers(seed: int) -> dict[str, dict]:
    mix = realistic_mix(seed)
    pollers: dict[str, Waits] = {
        "policy": DEFAULT_POLICY.next_wait,
        "fixed 10 s": fixed(10),
        "fixed 30 s": fixed(30),
        "fixed 60 s": fixed(60),
    }
    rows = {}
    for name, waits in pollers.items():
        grid = [detect(waits, t)[0] for t in GRID]
        mixed = [detect(waits, t)[0] for t in mix]
        lag_s, lag_share, allowance = worst_lag(waits, 60, 900)
        short_lag, _, _ = worst_lag(waits, SHORT[0], SHORT[-1])
        costs = [cost_per_clone(polls) for polls in mixed]
        rows[name] = {
            "grid_median": statistics.median(grid),
            "grid_p95": p95(grid),
            "grid_mean": statistics.mean(grid),
            "polls_900": detect(waits, 900)[0],
            "mix_median": statistics.median(mixed),
            "mix_p95": p95(mixed),
            "mix_mean": statistics.mean(mixed),
            "transitions": statistics.mean(transitions(p) for p in mixed),
            "transitions_900": transitions(detect(waits, 900)[0]),
            "lag_s": lag_s,
            "lag_share": lag_share,
            "allowance": allowance,
            "short_lag": short_lag,
            "sfn_1000": 1000 * statistics.mean(c[0] for c in costs),
            "lambda_1000": 1000 * statistics.mean(c[1] for c in costs),
        }
    return rows


def print_pollers(rows: dict[str, dict], seed: int) -> None:
    print(
        f"== 1. Status polling: policy vs fixed pollers (grid 60..900 s every 10 s; "
        f"mix: 1,000 clones log-normal median 240 s sigma 0.6, clipped, seed {seed})"
    )
    header = (
        f"{'poller':<11} {'polls grid med/p95/mean':>23} {'@900s':>6} {'polls mix med/p95/mean':>23} "
        f"{'transitions mix/@900':>21} {'worst lag 60-900 s':>19} {'short lag':>9} "
        f"{'SFN $/1k':>9} {'Lambda $/1k':>11} {'total $/1k':>10}"
    )
    print(header)
    for name, r in rows.items():
        print(
            f"{name:<11} {r['grid_median']:>9.0f} / {r['grid_p95']:.0f} / {r['grid_mean']:<5.2f} {r['polls_900']:>6} "
            f"{r['mix_median']:>9.0f} / {r['mix_p95']:.0f} / {r['mix_mean']:<5.2f} "
            f"{r['transitions']:>13.1f} / {r['transitions_900']:<5} "
            f"{r['lag_s']:>7.0f} s {100 * r['lag_share']:>5.1f} %{'!' if r['allowance'] > 1 else '':1} "
            f"{r['short_lag']:>7.0f} s {r['sfn_1000']:>9.2f} {r['lambda_1000']:>11.4f} "
            f"{r['sfn_1000'] + r['lambda_1000']:>10.2f}"
        )
    print(
        "  worst lag: over every finish time in 60..900 s, not only the grid (seconds, and the worst share of "
        "the clone's duration); '!' = some finish seen later than max(15 s, 15 %); short lag: 60..180 s clones"
    )
    print(
        f"  prices: Step Functions Standard $0.025 / 1,000 transitions; Lambda arm64 $0.20 / 1M requests, "
        f"$0.0000133334 / GB-s. Assumed: StartClone {START_GB * 1024:.0f} MB x {START_SECONDS * 1000:.0f} ms, "
        f"CheckCloneStatus {CHECK_GB * 1024:.0f} MB x {POLL_SECONDS * 1000:.0f} ms a running poll, "
        f"{COMPLETING_POLL_SECONDS * 1000:.0f} ms the completing poll (mapping write); transitions = 3 per poll + 3"
    )
    policy, thirty = rows["policy"], rows["fixed 30 s"]
    checks = [
        ("900 s clone: at most 20 status polls", policy["polls_900"] <= 20, f"{policy['polls_900']} polls"),
        (
            "every clone 60..900 s seen within max(15 s, 15 %)",
            policy["allowance"] <= 1,
            f"worst {policy['lag_s']:.0f} s, worst share {100 * policy['lag_share']:.1f} % (15 s of a 60 s clone); "
            f"at most {100 * policy['allowance']:.0f} % of the allowance used",
        ),
        (
            "fewer polls than the fixed 30 s poller (60..900 s grid)",
            policy["grid_mean"] < thirty["grid_mean"] and policy["polls_900"] < thirty["polls_900"],
            f"grid mean {policy['grid_mean']:.2f} vs {thirty['grid_mean']:.2f}, ratio {policy['grid_mean'] / thirty['grid_mean']:.2f}; "
            f"900 s clone {policy['polls_900']} vs {thirty['polls_900']}, ratio {policy['polls_900'] / thirty['polls_900']:.2f}",
        ),
        (
            "fewer polls than the fixed 30 s poller (realistic mix)",
            policy["mix_mean"] < thirty["mix_mean"],
            f"mean {policy['mix_mean']:.2f} vs {thirty['mix_mean']:.2f}, ratio {policy['mix_mean'] / thirty['mix_mean']:.2f}: "
            "below ~430 s the policy polls every 15 s to keep the lag bound the 30 s poller breaks",
        ),
        (
            "no worse lag than the 30 s poller on short clones",
            policy["short_lag"] <= thirty["short_lag"],
            f"worst {policy['short_lag']:.0f} s vs {thirty['short_lag']:.0f} s",
        ),
    ]
    for label, ok, detail in checks:
        print(f"  target {label}: {'MET' if ok else 'MISSED'} ({detail})")


# -- 2. learned from earlier clones of the same template ---------------------------------


@dataclass
class Outcome:
    duration: float
    polls: int
    lag: float
    expected: float | None = None  # E, for the learned policy

    @property
    def share(self) -> float:
        return self.lag / self.duration


def repeat_clones(seed: int, exact_history: bool = False) -> tuple[list[Outcome], list[Outcome]]:
    """(plain, learned) outcomes of every clone that had enough history, same durations.

    The history holds what the jobs table records, start to the poll that saw
    COMPLETED (the true duration plus the detection lag), or with
    ``exact_history`` the true durations."""
    rng = random.Random(seed)
    plain: list[Outcome] = []
    learned: list[Outcome] = []
    for mean in TEMPLATE_MEANS:
        recorded: list[float] = []  # durationSeconds as the jobs table holds them, oldest first
        for _ in range(CLONES_PER_TEMPLATE):
            duration = mean * rng.uniform(1 - SPREAD, 1 + SPREAD)
            expected = expected_duration(reversed(recorded))
            polls, lag = detect(functools.partial(DEFAULT_POLICY.next_wait, expected=expected), duration)
            if expected is not None:
                learned.append(Outcome(duration, polls, lag, expected))
                plain.append(Outcome(duration, *detect(DEFAULT_POLICY.next_wait, duration)))
            recorded.append(duration if exact_history else duration + lag)
    return plain, learned


def summarize(outcomes: list[Outcome]) -> dict:
    polls = [o.polls for o in outcomes]
    shares = [o.share for o in outcomes]
    costs = [cost_per_clone(p) for p in polls]
    return {
        "n": len(outcomes),
        "polls_median": statistics.median(polls),
        "polls_p95": p95(polls),
        "polls_mean": statistics.mean(polls),
        "lag_median": statistics.median(shares),
        "lag_p95": p95(shares),
        "lag_max": max(shares),
        "lag_s_max": max(o.lag for o in outcomes),
        "late": sum(o.lag > allowed_lag(o.duration) for o in outcomes),
        "late_after_e": sum(o.lag > allowed_lag(o.duration) and o.duration >= (o.expected or 0) for o in outcomes),
        "transitions": statistics.mean(transitions(p) for p in polls),
        "cost_1000": 1000 * statistics.mean(sfn + lam for sfn, lam in costs),
    }


def print_learned(seed: int, robustness_seeds: int) -> None:
    plain, learned = (summarize(o) for o in repeat_clones(seed))
    print()
    print(
        f"== 2. Repeat clones: plain vs learned from earlier clones of the same template "
        f"({len(TEMPLATE_MEANS)} templates, means {', '.join(map(str, TEMPLATE_MEANS))} s, "
        f"{CLONES_PER_TEMPLATE} clones each, +-{SPREAD:.0%} uniform, seed {seed}; "
        f"{learned['n']} repeat clones: those with >= {MIN_HISTORY} earlier ones)"
    )
    print(
        f"{'policy':<8} {'polls med/p95/mean':>20} {'lag % of duration med/p95/max':>31} {'max lag':>8} "
        f"{'> max(15 s,15 %)':>17} {'transitions':>11} {'$/1k clones':>11}"
    )
    for name, s in (("plain", plain), ("learned", learned)):
        print(
            f"{name:<8} {s['polls_median']:>8.0f} / {s['polls_p95']:.0f} / {s['polls_mean']:<5.2f} "
            f"{100 * s['lag_median']:>15.1f} / {100 * s['lag_p95']:.1f} / {100 * s['lag_max']:<5.1f} "
            f"{s['lag_s_max']:>6.0f} s {s['late']:>10} of {s['n']:<4} {s['transitions']:>9.1f} "
            f"{s['cost_1000']:>11.2f}"
        )
    print(
        f"  ratio learned / plain: polls (mean) {learned['polls_mean'] / plain['polls_mean']:.2f}, "
        f"median lag share {learned['lag_median'] / plain['lag_median']:.2f}, "
        f"cost {learned['cost_1000'] / plain['cost_1000']:.2f}"
    )
    checks = [
        ("median of at most 4 polls per repeat clone", learned["polls_median"] <= 4, f"{learned['polls_median']:.0f}"),
        (
            "median detection lag within 10 % of the clone's duration",
            learned["lag_median"] <= 0.10,
            f"{100 * learned['lag_median']:.1f} %; p95 {100 * learned['lag_p95']:.1f} %",
        ),
        (
            "every repeat clone seen within max(15 s, 15 %)",
            learned["late"] == 0,
            f"{learned['late']} of {learned['n']} later",
        ),
    ]
    for label, ok, detail in checks:
        print(f"  target {label}: {'MET' if ok else 'MISSED'} ({detail})")

    # The same experiment under other seeds, and with a history of exact durations.
    if robustness_seeds:
        seeds = range(seed + 1, seed + 1 + robustness_seeds)
        for exact, what in ((False, "recorded durations (as above)"), (True, "exact durations")):
            runs = [summarize(repeat_clones(other, exact)[1]) for other in seeds]
            late, total = sum(r["late"] for r in runs), sum(r["n"] for r in runs)
            after_e = sum(r["late_after_e"] for r in runs)
            print(
                f"  {robustness_seeds} more seeds, history of {what}: median <= 4 polls in "
                f"{sum(r['polls_median'] <= 4 for r in runs)} of {robustness_seeds}, mean polls "
                f"{statistics.mean(r['polls_mean'] for r in runs):.2f}, median lag "
                f"{100 * statistics.mean(r['lag_median'] for r in runs):.1f} %; {late} of {total} repeat clones "
                f"({100 * late / total:.2f} %) later than max(15 s, 15 %), {after_e} of them finishing after E"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--robustness-seeds", type=int, default=50)
    args = parser.parse_args()
    print_pollers(compare_pollers(args.seed), args.seed)
    print_learned(args.seed, args.robustness_seeds)


if __name__ == "__main__":
    main()
