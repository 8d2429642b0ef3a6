"""A burst of signups against Ecwid's rate limit: budget-aware polling beside today's, and no budget.

    .venv/bin/python bench/burst.py --signups 300              # the local stack, real HTTP, scaled time
    .venv/bin/python bench/burst.py --simulate --signups 10000  # simulated clock
    .venv/bin/python bench/burst.py --simulate --sweep          # the quantiles of polling under a backlog: the trade

Without ``--simulate``: merchant signups through the real SQS consumer and state
machine on the local stack (moto, the sandbox with Ecwid's 600 a minute), time
scaled by ``--poll-scale`` (0.1: every Wait state, the budget's rate and the
sandbox's minute alike), so the figures are in Ecwid's terms (``local/burst.py``);
it counts every Ecwid request the sandbox answered, by type.

``--simulate`` runs the product's own admission, budget and polling code
(``ecwid_cloner.admission.control.AdmissionControl``, ``ecwid_cloner.ecwid.budget.
RequestGate`` with their in-memory stores, ``ecwid_cloner.steps.poll_timing.PollTiming``
and ``ecwid_cloner.polling.learned_duration``) on a simulated clock, as the state
machine runs them: every step is one Lambda run; a step told to wait returns,
a Wait state waits the whole seconds it was told, and the step runs again.
Ecwid is modelled as the sandbox serves it: 600 requests a minute per app over
a sliding minute, 429 with Retry-After past that; clones take the realistic
mix of ``bench/polling.py`` (log-normal, median 240 s, clipped to 60..900 s),
and a template's history is what its clones recorded before (none at the start).
Every signup provisions a store with its Instant Site: CreateStore, StartClone,
the status polls (the polling policy, learned from the clones before it, reading
the backlog from each step's own booking), PersonalizeStore (the store profile),
CloneInstantSite (its token, the site clone and the site profile, booked together).
The requests a clone cannot avoid are those six and one poll that sees COMPLETED:
``floorRequestsPerClone`` = 7, and ``floorSeconds`` = signups x 7 / the budget a
second is the fastest the budget can carry the burst.

Three runs of the same signups: budget-aware polling (the product's
``DEFAULT_POLICY``), today's polling (the same with no backlog rule: quiet-time
polling always), and no budget at all (every execution starts at once and meets
429s with the state machine's Retry policies: 8 attempts, 10 s doubling to at
most 120 s, full jitter, after the client's own single sleep through a
Retry-After of up to 5 s; a poll that meets 429 only delays the next poll).

The lag of a clone is the time from its finish at Ecwid to the poll that saw
it, "under a backlog" when the backlog set the wait before that poll. The last
line is one JSON object: the budget-aware run's figures, with today's under
"today" and the run without a budget under "withoutBudget".
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import math
import random
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "cloner"), str(ROOT / "bench"), str(ROOT)]

from polling import realistic_mix  # noqa: E402

from ecwid_cloner.admission.control import AdmissionControl, AdmissionPolicy  # noqa: E402
from ecwid_cloner.config import Settings  # noqa: E402
from ecwid_cloner.ecwid.budget import (  # noqa: E402
    BudgetPolicy,
    BudgetWait,
    Priority,
    RequestBudget,
    RequestGate,
    step_budget,
)
from ecwid_cloner.polling import (  # noqa: E402
    BACKLOG_HISTORY_SIZE,
    DEFAULT_POLICY,
    PollingPolicy,
    RecentDurations,
    expected_duration,
    learned_duration,
)
from ecwid_cloner.state import BudgetTurn  # noqa: E402
from ecwid_cloner.steps.poll_timing import PollTiming, clone_draw  # noqa: E402
from tests.memory_stores import MemoryBudgetStore, MemorySlotStore  # noqa: E402

ECWID_LIMIT_PER_MINUTE = 600
BUDGET_PER_MINUTE = 540  # checked against DEFAULTS below
DEADLINE = 3600.0
# The deployed defaults (template.yaml's EcwidBudgetPerMinute and MaxClonesInFlight, read as the Lambdas read them).
DEFAULTS = Settings(jobs_table="", mappings_table="", credentials_secret="")
# The state machine's Retry for EcwidRateLimitedError on StartClone, CreateStore, CloneInstantSite
RETRY_ATTEMPTS, RETRY_INTERVAL, RETRY_BACKOFF, RETRY_MAX_DELAY = 8, 10.0, 2.0, 120.0
CLIENT_RETRY_AFTER_SLEEP = 5.0  # the HTTP client sleeps through a shorter Retry-After once
# Prices, us-east-1 on-demand: DynamoDB per request unit, Step Functions Standard per transition.
PRICE_READ_UNIT, PRICE_WRITE_UNIT, PRICE_TRANSITION = 0.125e-6, 0.625e-6, 0.025e-3
# The Ecwid requests of a provisioned clone with its Instant Site, step by step.
CREATE_STORE, START_CLONE, STATUS_POLL = ("createStore",), ("clonePost",), ("statusPoll",)
PERSONALIZE_STORE = ("storeProfile",)
CLONE_INSTANT_SITE = ("instantSiteToken", "instantSiteClone", "instantSiteProfile")  # booked together
REQUEST_TYPES = (*CREATE_STORE, *START_CLONE, *STATUS_POLL, *PERSONALIZE_STORE, *CLONE_INSTANT_SITE)
FLOOR_REQUESTS_PER_CLONE = len(REQUEST_TYPES)  # each once: one poll, the one that sees COMPLETED
TODAY_POLICY = replace(DEFAULT_POLICY, backlog_seconds=math.inf)  # quiet-time polling whatever the backlog
TODAY_MAX_IN_FLIGHT = 420  # MaxClonesInFlight before polling under a backlog


class SimClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class EcwidModel:
    """Ecwid's limit as the sandbox applies it: a sliding minute per app; a rejected request takes no slot."""

    def __init__(self, limit_per_minute: int):
        self.limit = limit_per_minute
        self.window: deque[float] = deque()
        self.served: list[float] = []
        self.served_by_type: Counter[str] = Counter()
        self.rejected = 0

    def request(self, now: float, kind: str) -> float | None:
        """None when served, else the Retry-After seconds of a 429."""
        while self.window and self.window[0] <= now - 60.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.rejected += 1
            return float(max(1, math.ceil(self.window[0] + 60.0 - now)))
        self.window.append(now)
        self.served.append(now)
        self.served_by_type[kind] += 1
        return None

    def peak_per_minute(self) -> int:
        times = self.served  # appended in time order
        return max((bisect.bisect_left(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


class CountingBudgetStore(MemoryBudgetStore):
    """The in-memory budget, counting what DynamoDB would be asked."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: float = 0
        self.writes = 0

    def book(self, now, policy, priority, count):
        self.writes += 1  # one conditional UpdateItem, no read
        return super().book(now, policy, priority, count)

    def lead(self, now):
        self.reads += 0.5  # one eventually consistent GetItem
        return super().lead(now)


class CountingSlotStore(MemorySlotStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = self.writes = 0

    def take_number(self):
        self.writes += 1
        return super().take_number()

    def line(self):
        self.reads += 1
        return super().line()

    def try_acquire(self, holder, limit, now):
        self.writes += 4  # a transaction of two items costs two write units each
        return super().try_acquire(holder, limit, now)

    def release(self, holder):
        self.writes += 4
        return super().release(holder)


@dataclass
class Outcome:
    completed: bool = False
    failure: str | None = None
    after_clone_failed: bool = False  # the store profile or the Instant Site step
    extra_transitions: int = 0  # spent waiting for the budget or a slot
    slot_waits: int = 0
    budget_waits: int = 0
    refused_new: int = 0
    polls: int = 0
    backlog_polls: int = 0  # waits the backlog set
    hops: int = 0  # CheckCloneStatus runs that only looked at the budget (no Ecwid request)
    lag: float | None = None  # from the finish at Ecwid to the poll that saw it
    lag_under_backlog: bool = False  # the backlog set the wait before that poll
    finished_at: float = 0.0


@dataclass
class Simulation:
    signups: int
    with_budget: bool
    seed: int = 1
    arrival_seconds: float = 0.0
    policy: PollingPolicy = DEFAULT_POLICY
    max_in_flight: int = DEFAULTS.max_clones_in_flight
    clock: SimClock = field(default_factory=SimClock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ecwid = EcwidModel(ECWID_LIMIT_PER_MINUTE)
        self.durations = realistic_mix(self.seed, self.signups)
        self.recorded: list[float] = []  # cloneSeconds of finished clones, oldest first
        self.budget_store = CountingBudgetStore()
        self.slot_store = CountingSlotStore()
        self.budget_policy = BudgetPolicy(
            per_minute=DEFAULTS.ecwid_budget_per_minute, burst=DEFAULTS.ecwid_budget_burst
        )
        self.gate = RequestGate(
            RequestBudget(self.budget_store, self.budget_policy, clock=self.clock), clock=self.clock
        )
        self.admission = AdmissionControl(
            self.slot_store,
            AdmissionPolicy.for_budget(DEFAULTS.ecwid_budget_per_minute, self.max_in_flight),
            clock=self.clock,
        )
        self.timing = PollTiming(poll_scale=1.0, deadline_seconds=DEADLINE, policy=self.policy, clock=self.clock)
        self.outcomes: list[Outcome] = []

    # -- the executions, as the state machine runs them: each yield is a Wait state ---------

    def execution(self, index: int, out: Outcome) -> Generator[float]:
        holder = f"clone-{index}"
        if self.with_budget:
            number = None
            while True:
                admission = self.admission.acquire(holder, number)
                if admission.admitted:
                    break
                number = admission.number
                out.slot_waits += 1
                out.extra_transitions += 3  # Choice, Wait, the acquire task again
                yield math.ceil(admission.wait)
        try:
            if (yield from self.step(Priority.NEW, out, CREATE_STORE)) is None:
                out.failure = "RATE_LIMITED"
                return
            backlog = yield from self.step(Priority.NEW, out, START_CLONE)
            if backlog is None:
                out.failure = "RATE_LIMITED"
                return
            yield from self.follow_clone(index, out, backlog)
            if not out.completed:
                return
            for requests in (PERSONALIZE_STORE, CLONE_INSTANT_SITE):
                if (yield from self.step(Priority.RUNNING, out, requests)) is None:
                    out.after_clone_failed = True
                    return
        finally:
            if self.with_budget:
                self.admission.release(holder)
            out.finished_at = self.clock.now

    def step(self, priority: Priority, out: Outcome, requests: Sequence[str]) -> Generator[float, None, float | None]:
        """One Lambda step's Ecwid requests with the state machine's Retry on 429: the
        backlog its bookings saw, or None when every attempt met a 429."""
        for attempt in range(RETRY_ATTEMPTS + 1):
            retry_after, backlog = yield from self.call(priority, out, requests)
            if retry_after is None:
                return backlog
            if attempt == RETRY_ATTEMPTS:
                return None
            yield self.rng.uniform(0, min(RETRY_MAX_DELAY, RETRY_INTERVAL * RETRY_BACKOFF**attempt))
        return None

    def follow_clone(self, index: int, out: Outcome, backlog: float) -> Generator[float]:
        """StartClone's first wait, then CheckCloneStatus until it sees COMPLETED, as the product computes them."""
        started = self.clock.now
        finishes = started + self.durations[index]
        recent = self.recorded[: -BACKLOG_HISTORY_SIZE - 1 : -1]  # newest first, as the jobs table answers
        expected, durations = expected_duration(recent), RecentDurations.of(recent)
        wait, poll_at = self.timing.plan(0, started, started, DEADLINE, backlog, expected, durations)
        running_seen = 0.0
        while True:
            backlog_wait = poll_at is not None
            out.backlog_polls += backlog_wait
            yield wait
            # CheckCloneStatus at a hop before the poll the backlog planned: a look at the budget only.
            while poll_at is not None and (hop := self.timing.check(poll_at, self.clock.now, self.gate.lead())):
                out.hops += 1
                out.extra_transitions += 3  # RouteByStatus, WaitForClone, the task again
                yield hop
            retry_after, backlog = yield from self.call(Priority.RUNNING, out, STATUS_POLL)
            out.polls += 1
            elapsed = self.clock.now - started
            if retry_after is None and self.clock.now >= finishes:
                seen = learned_duration(elapsed, running_seen, backlog_wait, durations, clone_draw(f"clone-{index}"))
                self.recorded.append(seen)
                out.lag, out.lag_under_backlog = self.clock.now - finishes, backlog_wait
                break
            if retry_after is None:
                running_seen = elapsed
            remaining = DEADLINE - elapsed
            if remaining <= 0:
                out.failure = "CLONE_TIMED_OUT"
                return
            wait, poll_at = self.timing.plan(
                out.polls, started, self.clock.now, remaining, backlog, durations=durations, min_wait=retry_after
            )
        out.completed = True

    def call(
        self, priority: Priority, out: Outcome, requests: Sequence[str]
    ) -> Generator[float, None, tuple[float | None, float]]:
        """One step's Ecwid requests, each through the gate: (None when all were served,
        else the 429's Retry-After (the step then fails, for its Retry); the backlog)."""
        turn = BudgetTurn()
        done = 0
        backlog = 0.0
        while done < len(requests):
            if self.with_budget:
                with step_budget(turn, len(requests) - done) as budget:
                    try:
                        for kind in requests[done:]:
                            self.gate.admit(priority)
                            retry_after = self.ecwid.request(self.clock.now, kind)
                            if retry_after is not None:
                                return retry_after, budget.backlog
                            done += 1
                    except BudgetWait as wait:
                        turn, seconds = self.budget_policy.next_turn(turn, wait, self.rng)
                        out.budget_waits += 1
                        out.refused_new += not wait.booking.booked
                        out.extra_transitions += 3  # Choice, Wait, the task again
                        yield max(1, math.ceil(seconds))
                    backlog = budget.backlog
            else:
                kind = requests[done]
                retry_after = self.ecwid.request(self.clock.now, kind)
                if retry_after is not None and retry_after <= CLIENT_RETRY_AFTER_SLEEP:
                    yield retry_after  # slept inside the Lambda, then one more try
                    retry_after = self.ecwid.request(self.clock.now, kind)
                if retry_after is not None:
                    return retry_after, 0.0
                done += 1
        return None, backlog

    # -- the event loop ----------------------------------------------------------------------

    def run(self) -> dict:
        began = time.perf_counter()
        queue: list[tuple[float, int, Generator[float]]] = []
        for index in range(self.signups):
            out = Outcome()
            self.outcomes.append(out)
            arrival = self.arrival_seconds * index / max(1, self.signups)
            queue.append((arrival, index, self.execution(index, out)))
        heapq.heapify(queue)
        while queue:
            at, index, execution = heapq.heappop(queue)
            self.clock.now = at
            try:
                wait = next(execution)
            except StopIteration:
                continue
            heapq.heappush(queue, (at + wait, index, execution))
        return self.report(time.perf_counter() - began)

    def report(self, seconds: float) -> dict:
        outcomes = self.outcomes
        served = len(self.ecwid.served)
        ready = [i for i, o in enumerate(outcomes) if o.completed and not o.after_clone_failed]
        per_clone = 1 / max(1, self.signups)
        per_thousand = 1000 * per_clone
        reads = self.budget_store.reads + self.slot_store.reads
        writes = self.budget_store.writes + self.slot_store.writes
        transitions = sum(o.extra_transitions for o in outcomes) + (3 * self.signups if self.with_budget else 0)
        rate = BUDGET_PER_MINUTE / 60.0
        return {
            "signups": self.signups,
            "completed": len(ready),
            "failed": self.signups - len(ready),
            "cloneFailed": sum(not o.completed for o in outcomes),
            "afterCloneFailed": sum(o.after_clone_failed for o in outcomes),
            "deadLetters": 0,
            "ecwid429": self.ecwid.rejected,
            "peakRequestsPerMinute": self.ecwid.peak_per_minute(),
            "limitPerMinute": ECWID_LIMIT_PER_MINUTE,
            "seconds": round(seconds, 1),
            "makespanSeconds": round(max((o.finished_at for o in outcomes), default=0.0)),
            "floorSeconds": round(self.signups * FLOOR_REQUESTS_PER_CLONE / rate),
            "lowerBoundSeconds": round(served / rate),
            "ecwidRequests": served,
            "requestsPerClone": round(served * per_clone, 2),
            "pollsPerClone": round(self.ecwid.served_by_type["statusPoll"] * per_clone, 2),
            "floorRequestsPerClone": FLOOR_REQUESTS_PER_CLONE,
            "requestsPerCloneByType": {
                kind: round(self.ecwid.served_by_type[kind] * per_clone, 2) for kind in REQUEST_TYPES
            },
            "lagSeconds": {
                "underBacklog": lag_figures([o.lag for o in outcomes if o.lag is not None and o.lag_under_backlog]),
                "quiet": lag_figures([o.lag for o in outcomes if o.lag is not None and not o.lag_under_backlog]),
            },
            "readySeconds": lag_figures([outcomes[i].finished_at - self.arrival(i) for i in ready]),
            "backlogPollsPerClone": round(sum(o.backlog_polls for o in outcomes) * per_clone, 2),
            "hopsPerClone": round(sum(o.hops for o in outcomes) * per_clone, 2),
            # Of the polling and the waiting: 3 a poll (WaitForClone, CheckCloneStatus, RouteByStatus),
            # 3 a hop or a wait for the budget or a slot, 3 for taking and giving back a slot.
            "pollingTransitionsPerClone": round((transitions + 3 * sum(o.polls for o in outcomes)) * per_clone, 1),
            "waitsPerClone": {
                "slot": round(sum(o.slot_waits for o in outcomes) * per_clone, 2),
                "budget": round(sum(o.budget_waits for o in outcomes) * per_clone, 2),
                "newWorkRefused": round(sum(o.refused_new for o in outcomes) * per_clone, 2),
            },
            "budgetCostPer1000Clones": {
                "dynamodbReadUnits": round(reads * per_thousand),
                "dynamodbWriteUnits": round(writes * per_thousand),
                "extraStateTransitions": round(transitions * per_thousand),
                "dollars": round(
                    per_thousand
                    * (reads * PRICE_READ_UNIT + writes * PRICE_WRITE_UNIT + transitions * PRICE_TRANSITION),
                    4,
                ),
            },
        }

    def arrival(self, index: int) -> float:
        return self.arrival_seconds * index / max(1, self.signups)


def lag_figures(seconds: list[float]) -> dict:
    """{clones, median, p95} of a list of seconds (None when empty)."""
    if not seconds:
        return {"clones": 0, "median": None, "p95": None}
    ordered = sorted(seconds)
    return {
        "clones": len(ordered),
        "median": round(statistics.median(ordered)),
        "p95": round(ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]),
    }


SIMULATED_KEYS = (
    "signups",
    "completed",
    "failed",
    "deadLetters",
    "ecwid429",
    "peakRequestsPerMinute",
    "limitPerMinute",
    "seconds",
    "makespanSeconds",
    "floorSeconds",
    "lowerBoundSeconds",
    "requestsPerClone",
    "pollsPerClone",
    "floorRequestsPerClone",
    "lagSeconds",
    "readySeconds",
)
LOCAL_KEYS = SIMULATED_KEYS[:8]
TABLE_KEYS = {  # key: column title
    "completed": "completed",
    "failed": "failed",
    "ecwid429": "429s",
    "peakRequestsPerMinute": "peak/min",
    "requestsPerClone": "requests/clone",
    "pollsPerClone": "polls/clone",
    "makespanSeconds": "makespan s",
}


def simulate(args: argparse.Namespace) -> None:
    assert DEFAULTS.ecwid_budget_per_minute == BUDGET_PER_MINUTE
    burst = (args.signups, True, args.seed, args.arrival_seconds)
    runs = {
        "budget-aware polling": Simulation(*burst).run(),
        "today": Simulation(*burst, TODAY_POLICY, TODAY_MAX_IN_FLIGHT).run(),
        "today's polling, new cap": Simulation(*burst, TODAY_POLICY).run(),
        "no budget": Simulation(args.signups, False, args.seed, args.arrival_seconds, TODAY_POLICY).run(),
    }
    new, today = runs["budget-aware polling"], runs["today"]
    floor = new["floorSeconds"]
    print(
        f"{args.signups} provisioned signups (store, clone, profile, Instant Site) over {args.arrival_seconds:.0f} s, "
        f"Ecwid {ECWID_LIMIT_PER_MINUTE}/min, budget {BUDGET_PER_MINUTE}/min, seed {args.seed}; slots: "
        f"{DEFAULTS.max_clones_in_flight} (MaxClonesInFlight now), today {TODAY_MAX_IN_FLIGHT}"
    )
    print(
        f"floor: {FLOOR_REQUESTS_PER_CLONE} requests a clone ({', '.join(REQUEST_TYPES)}), "
        f"floorSeconds {floor} s ({args.signups} x {FLOOR_REQUESTS_PER_CLONE} / {BUDGET_PER_MINUTE / 60:g} a second)"
    )
    print(f"{'':<26}" + "".join(f"{title:>16}" for title in (*TABLE_KEYS.values(), "makespan/floor")))
    for label, row in runs.items():
        ratio = row["makespanSeconds"] / max(1, floor)
        print(f"{label:<26}" + "".join(f"{row[key]:>16}" for key in TABLE_KEYS) + f"{ratio:>15.3f}x")
    compared = {label: runs[label] for label in ("budget-aware polling", "today")}
    for label, row in compared.items():
        print(f"{label}, Ecwid requests per clone by type: {json.dumps(row['requestsPerCloneByType'])}")
    for label, row in compared.items():
        lag, ready = row["lagSeconds"], row["readySeconds"]
        print(
            f"{label}: lag finish -> poll that saw it, under a backlog {describe(lag['underBacklog'])}, "
            f"without {describe(lag['quiet'])}; signup -> ready {describe(ready)}"
        )
    print(
        f"waits per clone {json.dumps(new['waitsPerClone'])}; waits the backlog set per clone "
        f"{new['backlogPollsPerClone']}, their hops (a look at the budget, no Ecwid request) {new['hopsPerClone']}"
    )
    print(
        f"what the budget costs per 1,000 clones: {json.dumps(new['budgetCostPer1000Clones'])} "
        f"(today {json.dumps(today['budgetCostPer1000Clones'])}); state transitions of polling and waiting "
        f"a clone {new['pollingTransitionsPerClone']} (today {today['pollingTransitionsPerClone']})"
    )
    saved = today["requestsPerClone"] - new["requestsPerClone"]
    new_lag, today_lag = new["lagSeconds"]["underBacklog"]["median"], today["lagSeconds"]["quiet"]["median"]
    lag = "no wait set by a backlog"
    if new_lag is not None and today_lag is not None:
        lag = f"{(new_lag - today_lag) / 60:+.1f} min of median lag a clone under a backlog"
    print(
        f"the trade: {saved:.2f} requests saved a clone ({saved * args.signups / (BUDGET_PER_MINUTE / 60):.0f} s of "
        f"the budget over the burst) for {lag}; makespan "
        f"{new['makespanSeconds'] - today['makespanSeconds']:+d} s, signup -> ready "
        f"median {(new['readySeconds']['median'] or 0) - (today['readySeconds']['median'] or 0):+d} s, "
        f"p95 {(new['readySeconds']['p95'] or 0) - (today['readySeconds']['p95'] or 0):+d} s"
    )
    ratio = new["makespanSeconds"] / max(1, floor)
    goals = {
        "every signup completed": new["completed"] == args.signups and new["failed"] == 0,
        "no 429 from Ecwid": new["ecwid429"] == 0,
        "peak within Ecwid's limit": new["peakRequestsPerMinute"] <= ECWID_LIMIT_PER_MINUTE,
        f"makespan within 1.15x floorSeconds ({ratio:.3f}x)": ratio <= 1.15,
        "fewer requests per clone than today": new["requestsPerClone"] < today["requestsPerClone"],
    }
    for goal, met in goals.items():
        print(f"  {goal}: {'MET' if met else 'MISSED'}")
    line = {key: new[key] for key in SIMULATED_KEYS}
    line["today"] = {key: today[key] for key in SIMULATED_KEYS}
    line["withoutBudget"] = {key: runs["no budget"][key] for key in SIMULATED_KEYS}
    print(json.dumps(line))


def describe(figures: dict) -> str:
    if not figures["clones"]:
        return "(no clone)"
    return f"median {figures['median']} s / p95 {figures['p95']} s ({figures['clones']} clones)"


def sweep(args: argparse.Namespace) -> None:
    """What polling under a backlog costs and saves, by its figures, on the same signups."""
    cap = DEFAULTS.max_clones_in_flight
    print(
        f"{args.signups} provisioned signups at once, seed {args.seed}, floorSeconds "
        f"{round(args.signups * FLOOR_REQUESTS_PER_CLONE / (BUDGET_PER_MINUTE / 60))}: polling under a backlog "
        f"(first poll at the first quantile of the template's recent durations, each later one at the step "
        f"quantile of what is left, waited in hops), against today's, at {cap} slots unless said"
    )
    header = (
        "polling",
        "slots",
        "requests/clone",
        "polls/clone",
        "makespan",
        "/floor",
        "lag med",
        "lag p95",
        "ready med",
        "ready p95",
        "hops/clone",
        "$/1k clones",
    )
    print(f"{header[0]:<34}" + "".join(f"{h:>15}" for h in header[1:]))
    rows: list[tuple[str, PollingPolicy, int]] = [
        ("today", TODAY_POLICY, TODAY_MAX_IN_FLIGHT),
        ("today", TODAY_POLICY, cap),
    ]
    rows += [
        (f"first {first:g}, step {step:g}", replace(DEFAULT_POLICY, first_quantile=first, step_quantile=step), cap)
        for first, step in ((0.5, 0.8), (0.7, 0.8), (0.8, 0.8), (0.9, 0.5), (0.9, 0.8), (0.95, 0.8))
    ]
    rows += [(f"hops of {hop:g} s", replace(DEFAULT_POLICY, backlog_hop=hop), cap) for hop in (60.0, 240.0, 3600.0)]
    rows += [
        (f"backlog from {seconds:g} s", replace(DEFAULT_POLICY, backlog_seconds=seconds), cap) for seconds in (25.0,)
    ]
    rows += [("DEFAULT_POLICY", DEFAULT_POLICY, slots) for slots in (420, 800, 1200)]
    for label, policy, slots in rows:
        row = Simulation(args.signups, True, args.seed, args.arrival_seconds, policy, slots).run()
        lag = (
            row["lagSeconds"]["underBacklog"]
            if row["lagSeconds"]["underBacklog"]["clones"]
            else row["lagSeconds"]["quiet"]
        )
        values = (
            slots,
            row["requestsPerClone"],
            row["pollsPerClone"],
            row["makespanSeconds"],
            f"{row['makespanSeconds'] / row['floorSeconds']:.3f}",
            lag["median"],
            lag["p95"],
            row["readySeconds"]["median"],
            row["readySeconds"]["p95"],
            row["hopsPerClone"],
            row["budgetCostPer1000Clones"]["dollars"],
        )
        marker = "  <- the default" if policy == DEFAULT_POLICY and slots == cap else ""
        print(f"{label:<34}" + "".join(f"{value!s:>15}" for value in values) + marker)
    print(
        "lag: from the finish at Ecwid to the poll that saw it, of the clones whose last wait the backlog set "
        "(today: of all); ready: signup to ready (store, clone, profile, Instant Site); $: what the budget and "
        "the slots cost (DynamoDB units, extra state transitions)"
    )


def run_local(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from local.burst import run_burst
    from local.ecwid_sandbox import SandboxConfig
    from local.stack import LocalStack

    config = SandboxConfig(queued_seconds=0.5, clone_seconds=args.clone_seconds)
    if args.poll_scale > 1:
        raise SystemExit("--poll-scale above 1 would stretch time; use 1 or less")
    print(
        f"{args.signups} merchant signups at once through the local stack, time scale {args.poll_scale} "
        f"(an Ecwid minute is {60 * args.poll_scale:g} s here; a clone {args.clone_seconds:g} s = "
        f"{args.clone_seconds / args.poll_scale:.0f} Ecwid s); Ecwid 600/min, budget {BUDGET_PER_MINUTE}/min",
        flush=True,
    )
    with LocalStack(sandbox_config=config, poll_scale=args.poll_scale) as stack:
        stack.configure(MAX_CLONES_IN_FLIGHT=str(args.max_in_flight))
        figures = run_burst(stack, args.signups, source_store_id=1003, run_id=f"bench-{int(time.time())}")
    print(
        f"stores created {figures['storesCreated']}, consumer item failures {figures['consumerItemFailures']}, "
        f"clones in flight at most {args.max_in_flight}"
    )
    print(
        f"Ecwid requests per clone {figures['requestsPerClone']}: "
        + ", ".join(f"{kind} {count}" for kind, count in figures["requestsPerCloneByType"].items())
    )
    print(json.dumps({key: figures[key] for key in (*LOCAL_KEYS, "requestsPerClone")}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--simulate", action="store_true", help="simulated clock, Ecwid at 600 a minute")
    parser.add_argument("--signups", type=int, default=None, help="default 10,000 simulated, 300 local")
    parser.add_argument(
        "--arrival-seconds", type=float, default=0.0, help="simulation: spread the signups over this long"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--poll-scale",
        type=float,
        default=1.0,
        help="local: the time scale of waits, of the budget and of Ecwid's minute (1: real time, "
        "so the figures need no scaling; this machine cannot send faster than ~20 requests a second)",
    )
    parser.add_argument("--clone-seconds", type=float, default=20.0, help="local: a sandbox clone's real seconds")
    parser.add_argument("--max-in-flight", type=int, default=200, help="local: MaxClonesInFlight")
    parser.add_argument("--sweep", action="store_true", help="simulation: the quantiles of polling under a backlog")
    args = parser.parse_args()
    if args.simulate or args.sweep:
        args.signups = args.signups or 10_000
        sweep(args) if args.sweep else simulate(args)
    else:
        args.signups = args.signups or 300
        run_local(args)


if __name__ == "__main__":
    main()
