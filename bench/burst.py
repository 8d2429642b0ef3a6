"""A burst of signups against Ecwid's rate limit: with the shared budget and admission, and without.

    .venv/bin/python bench/burst.py --signups 300              # the local stack, real HTTP, scaled time
    .venv/bin/python bench/burst.py --simulate --signups 10000  # simulated clock

Without ``--simulate``: merchant signups through the real SQS consumer and state
machine on the local stack (moto, the sandbox with Ecwid's 600 a minute), time
scaled by ``--poll-scale`` (0.1: every Wait state, the budget's rate and the
sandbox's minute alike), so the figures are in Ecwid's terms (``local/burst.py``).

``--simulate`` runs the product's own admission and budget code
(``ecwid_cloner.admission.AdmissionControl``, ``ecwid_cloner.request_budget.
RequestGate``, with their in-memory stores) on a simulated clock, as the state
machine runs them: every step is one Lambda run; a step told to wait returns,
a Wait state waits the whole seconds it was told, and the step runs again.
Ecwid is modelled as the sandbox serves it: 600 requests a minute per app over
a sliding minute, 429 with Retry-After past that; clones take the realistic
mix of ``bench/polling.py`` (log-normal, median 240 s, clipped to 60..900 s).
Every signup provisions a store: CreateStore, StartClone, the status polls
(the polling policy, learned from the clones before it), the Instant Site
token and clone: about 8 Ecwid requests.

Without the budget (today's behaviour) every execution starts at once and
meets 429s with the state machine's Retry policies: StartClone and CreateStore
8 attempts, 10 s doubling to at most 120 s, full jitter, after the client's own
single sleep through a Retry-After of up to 5 s; a poll that meets 429 only
delays the next poll (its deadline, 3600 s, still ends it).

The last line is one JSON object: signups, completed, failed, deadLetters (the
simulation starts every execution as the SQS consumer does; nothing is
dead-lettered), ecwid429, peakRequestsPerMinute, limitPerMinute, seconds (the
simulation's own run time), makespanSeconds, lowerBoundSeconds (Ecwid requests
served / the budget's rate), and the same keys for the run without the budget
under "withoutBudget".
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import math
import random
import sys
import time
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "cloner"), str(ROOT / "bench")]

from polling import realistic_mix  # noqa: E402

from ecwid_cloner.admission import AdmissionControl, AdmissionPolicy, MemorySlotStore  # noqa: E402
from ecwid_cloner.config import Settings  # noqa: E402
from ecwid_cloner.polling import DEFAULT_POLICY, expected_duration, scaled_wait_seconds  # noqa: E402
from ecwid_cloner.request_budget import (  # noqa: E402
    BudgetPolicy,
    BudgetTurn,
    BudgetWait,
    MemoryBudgetStore,
    Priority,
    RequestBudget,
    RequestGate,
    step_budget,
)

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
        self.rejected = 0

    def request(self, now: float) -> float | None:
        """None when served, else the Retry-After seconds of a 429."""
        while self.window and self.window[0] <= now - 60.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.rejected += 1
            return float(max(1, math.ceil(self.window[0] + 60.0 - now)))
        self.window.append(now)
        self.served.append(now)
        return None

    def peak_per_minute(self) -> int:
        times = self.served  # appended in time order
        return max((bisect.bisect_left(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


class CountingBudgetStore(MemoryBudgetStore):
    """The in-memory budget, counting what DynamoDB would be asked."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = self.writes = 0

    def book(self, now, policy, priority, count):
        self.writes += 1  # one conditional UpdateItem, no read
        return super().book(now, policy, priority, count)


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
    instant_site_failed: bool = False
    extra_transitions: int = 0  # spent waiting for the budget or a slot
    slot_waits: int = 0
    budget_waits: int = 0
    refused_new: int = 0
    finished_at: float = 0.0


@dataclass
class Simulation:
    signups: int
    with_budget: bool
    seed: int = 1
    arrival_seconds: float = 0.0
    clock: SimClock = field(default_factory=SimClock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ecwid = EcwidModel(ECWID_LIMIT_PER_MINUTE)
        self.durations = realistic_mix(self.seed, self.signups)
        self.recorded: list[float] = []  # durationSeconds of finished clones, oldest first
        self.budget_store = CountingBudgetStore()
        self.slot_store = CountingSlotStore()
        self.policy = BudgetPolicy(per_minute=DEFAULTS.ecwid_budget_per_minute, burst=DEFAULTS.ecwid_budget_burst)
        self.gate = RequestGate(RequestBudget(self.budget_store, self.policy, clock=self.clock), clock=self.clock)
        self.admission = AdmissionControl(
            self.slot_store,
            AdmissionPolicy.for_budget(DEFAULTS.ecwid_budget_per_minute, DEFAULTS.max_clones_in_flight),
            clock=self.clock,
        )
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
            yield from self.new_work_call(out)  # CreateStore
            if out.failure:
                return
            yield from self.new_work_call(out)  # StartClone
            if out.failure:
                return
            yield from self.follow_clone(index, out)
        finally:
            if self.with_budget:
                self.admission.release(holder)
            out.finished_at = self.clock.now

    def new_work_call(self, out: Outcome) -> Generator[float]:
        """CreateStore or StartClone: one Ecwid POST, with the state machine's Retry on 429."""
        for attempt in range(RETRY_ATTEMPTS + 1):
            retry_after = yield from self.call(Priority.NEW, out)
            if retry_after is None:
                return
            if attempt == RETRY_ATTEMPTS:
                out.failure = "RATE_LIMITED"
                return
            yield self.rng.uniform(0, min(RETRY_MAX_DELAY, RETRY_INTERVAL * RETRY_BACKOFF**attempt))

    def follow_clone(self, index: int, out: Outcome) -> Generator[float]:
        started = self.clock.now
        finishes = started + self.durations[index]
        expected = expected_duration(reversed(self.recorded[-10:]))
        attempt = 0
        wait = scaled_wait_seconds(DEFAULT_POLICY.next_wait(0, 0.0, expected), 1.0, DEADLINE)
        while True:
            yield wait
            attempt += 1
            retry_after = yield from self.call(Priority.RUNNING, out)
            now = self.clock.now
            if retry_after is None and now >= finishes:
                self.recorded.append(now - started)
                break
            remaining = started + DEADLINE - now
            if remaining <= 0:
                out.failure = "CLONE_TIMED_OUT"
                return
            wait = scaled_wait_seconds(DEFAULT_POLICY.next_wait(attempt, now - started), 1.0, remaining)
            if retry_after is not None:
                wait = max(wait, min(math.ceil(retry_after), math.ceil(remaining)))
        out.completed = True
        # Instant Site, one step of two requests: the access token, then the clone.
        for attempt in range(RETRY_ATTEMPTS + 1):
            retry_after = yield from self.call(Priority.RUNNING, out, requests=2)
            if retry_after is None:
                break
            if attempt == RETRY_ATTEMPTS:
                out.instant_site_failed = True
                return
            yield self.rng.uniform(0, min(RETRY_MAX_DELAY, RETRY_INTERVAL * RETRY_BACKOFF**attempt))

    def call(self, priority: Priority, out: Outcome, requests: int = 1) -> Generator[float, None, float | None]:
        """One step's Ecwid requests, each through the gate: None when all were
        served, else the 429's Retry-After (the step then fails, for its Retry)."""
        turn = BudgetTurn()
        done = 0
        while done < requests:
            if self.with_budget:
                with step_budget(turn, requests - done):
                    try:
                        for _ in range(requests - done):
                            self.gate.admit(priority)
                            retry_after = self.send()
                            if retry_after is not None:
                                return retry_after
                            done += 1
                    except BudgetWait as wait:
                        turn, seconds = turn.after(wait, self.policy, self.rng)
                        out.budget_waits += 1
                        out.refused_new += not wait.booking.booked
                        out.extra_transitions += 3  # Choice, Wait, the task again
                        yield max(1, math.ceil(seconds))
            else:
                retry_after = self.send()
                if retry_after is not None and retry_after <= CLIENT_RETRY_AFTER_SLEEP:
                    yield retry_after  # slept inside the Lambda, then one more try
                    retry_after = self.send()
                if retry_after is not None:
                    return retry_after
                done += 1
        return None

    def send(self) -> float | None:
        return self.ecwid.request(self.clock.now)

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
        finished = [o.finished_at for o in outcomes]
        ready = sum(o.completed and not o.instant_site_failed for o in outcomes)
        per_thousand = 1000 / max(1, self.signups)
        reads = self.budget_store.reads + self.slot_store.reads
        writes = self.budget_store.writes + self.slot_store.writes
        transitions = sum(o.extra_transitions for o in outcomes) + (3 * self.signups if self.with_budget else 0)
        return {
            "signups": self.signups,
            "completed": ready,
            "failed": self.signups - ready,
            "cloneFailed": sum(not o.completed for o in outcomes),
            "instantSiteFailed": sum(o.instant_site_failed for o in outcomes),
            "deadLetters": 0,
            "ecwid429": self.ecwid.rejected,
            "peakRequestsPerMinute": self.ecwid.peak_per_minute(),
            "limitPerMinute": ECWID_LIMIT_PER_MINUTE,
            "seconds": round(seconds, 1),
            "makespanSeconds": round(max(finished, default=0.0)),
            "lowerBoundSeconds": round(served / (BUDGET_PER_MINUTE / 60.0)),
            "ecwidRequests": served,
            "waitsPerClone": {
                "slot": round(sum(o.slot_waits for o in outcomes) / self.signups, 2),
                "budget": round(sum(o.budget_waits for o in outcomes) / self.signups, 2),
                "newWorkRefused": round(sum(o.refused_new for o in outcomes) / self.signups, 2),
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
    "lowerBoundSeconds",
)
LOCAL_KEYS = SIMULATED_KEYS[:8]


def simulate(args: argparse.Namespace) -> None:
    assert DEFAULTS.ecwid_budget_per_minute == BUDGET_PER_MINUTE
    with_budget = Simulation(args.signups, True, args.seed, args.arrival_seconds).run()
    without = Simulation(args.signups, False, args.seed, args.arrival_seconds).run()
    ratio = with_budget["makespanSeconds"] / max(1, with_budget["lowerBoundSeconds"])
    keys = (
        "completed",
        "failed",
        "ecwid429",
        "peakRequestsPerMinute",
        "makespanSeconds",
        "lowerBoundSeconds",
        "ecwidRequests",
    )
    print(
        f"{args.signups} signups over {args.arrival_seconds:.0f} s, Ecwid {ECWID_LIMIT_PER_MINUTE}/min, "
        f"budget {BUDGET_PER_MINUTE}/min, seed {args.seed}"
    )
    print(f"{'':<24}" + "".join(f"{key:>22}" for key in keys))
    for label, row in (("with budget+admission", with_budget), ("without (today)", without)):
        print(f"{label:<24}" + "".join(f"{row[key]:>22}" for key in keys))
    print(f"makespan / lower bound: {ratio:.3f}; waits per clone {json.dumps(with_budget['waitsPerClone'])}")
    print(f"what the budget costs per 1,000 clones: {json.dumps(with_budget['budgetCostPer1000Clones'])}")
    goals = {
        "every signup completed": with_budget["completed"] == args.signups and with_budget["failed"] == 0,
        "no 429 from Ecwid": with_budget["ecwid429"] == 0,
        "peak within Ecwid's limit": with_budget["peakRequestsPerMinute"] <= ECWID_LIMIT_PER_MINUTE,
        "makespan within 1.10x of the lower bound": ratio <= 1.10,
    }
    for goal, met in goals.items():
        print(f"  {goal}: {'MET' if met else 'MISSED'}")
    line = {key: with_budget[key] for key in SIMULATED_KEYS}
    line["withoutBudget"] = {key: without[key] for key in SIMULATED_KEYS}
    print(json.dumps(line))


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
    args = parser.parse_args()
    if args.simulate:
        args.signups = args.signups or 10_000
        simulate(args)
    else:
        args.signups = args.signups or 300
        run_local(args)


if __name__ == "__main__":
    main()
