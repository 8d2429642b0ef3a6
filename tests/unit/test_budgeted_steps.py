"""Every step that calls Ecwid does it one way (steps.budgeted.run_budgeted), in fast tests:
told to wait by the shared request budget, a step calls nothing and writes nothing it would have
to undo, and hands back its turn in ``$.budget`` for the Wait state; its next run goes on that
booking and books nothing new; every handler logs and counts the wait, the poll's too.

In-memory jobs and budget; fake Ecwid clients behind the gate as the real transport puts them
(EcwidHttp._send admits every request first), no HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import pytest

from ecwid_cloner.ecwid.budget import BudgetPolicy, Priority, RequestBudget, RequestGate
from ecwid_cloner.ecwid.store_creation import CreatedStore
from ecwid_cloner.models import CloneRequest, CloneStatus, Merchant, StoreProfile
from ecwid_cloner.state import BudgetTurn, CloneState
from ecwid_cloner.steps.check_clone_status import CheckCloneStatus
from ecwid_cloner.steps.clone_instant_site import CloneInstantSite
from ecwid_cloner.steps.create_store import StoreProvisioning
from ecwid_cloner.steps.personalize_store import PersonalizeStore
from ecwid_cloner.steps.poll_timing import PollTiming
from ecwid_cloner.steps.start_clone import StartClone
from ecwid_cloner.steps.store_actions import StoreActions
from local.lambda_endpoint import LambdaContext, load_module
from local.template_model import TemplateModel
from tests.fake_ecwid import Clock, FakeCloneClient, FakeStoreCreator
from tests.memory_stores import MemoryBudgetStore, MemoryJobs, MemoryMappings

CLONE_ID = "9001-budget"
CLONE = CloneRequest(1003, 9001, scope="CATALOG")
NAME = StoreProfile({"settings.storeName": "Ann's Bakery"})
PERSONALIZED = CloneRequest(1003, 9001, profile=NAME, personalize=True, instant_site_draft=True)
MERCHANT = Merchant("owner@example.com", "Owner")
PROVISIONING = CloneRequest(1003, None, merchant=MERCHANT, new_store=True)
# One request a second, none ahead of the schedule; new work books at most 5 s ahead.
POLICY = BudgetPolicy(per_minute=60, burst=1, new_work_horizon=5)
BACKLOG = 20.0  # how far others booked the schedule ahead: a spent budget


class Gated:
    """A fake Ecwid client whose calls each pass the gate first, at the real client's priority."""

    def __init__(self, client: Any, gate: RequestGate, priorities: dict[str, Priority]):
        self._client, self._gate, self._priorities = client, gate, priorities

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in self._priorities:
            return method

        def admitted(*args: Any, **kwargs: Any) -> Any:
            self._gate.admit(self._priorities[name])
            return method(*args, **kwargs)

        return admitted


@dataclass
class Recorder:
    """The store profile, Instant Site and Reseller API clients' calls, answered at once."""

    calls: list[str] = field(default_factory=list)

    def update(self, store_id: int, token: str, profile: Any) -> dict[str, Any]:
        self.calls.append("profile")
        return {"updateCount": 1}

    def access_token(self, store_id: int, secret_token: str) -> str:
        self.calls.append("siteToken")
        return "site-token"

    def clone(self, target: int, source: int, draft: bool, token: str) -> dict[str, Any]:
        self.calls.append("siteClone")
        return {}

    def update_profile(self, store_id: int, profile: dict[str, str], token: str) -> dict[str, Any]:
        self.calls.append("siteProfile")
        return {}

    def suspend(self, store_id: int, priority: Priority = Priority.RUNNING) -> None:
        self.calls.append("suspend")

    resume = delete = suspend  # StoreActions picks its call among the three


class JobsWithStoreActions(MemoryJobs):
    """MemoryJobs and the storeAction a settled store records."""

    def set_store_action(self, clone_id: str, outcome: dict[str, Any]) -> None:
        self._existing(clone_id)["storeAction"] = outcome


@pytest.fixture
def budget(clock):
    return MemoryBudgetStore()


@pytest.fixture
def gate(clock, budget):
    return RequestGate(RequestBudget(budget, POLICY, clock=clock), clock=clock)


@dataclass
class Case:
    """A step as the runtime builds it, one run of it, and what Ecwid saw of it."""

    step: Any
    run: Callable[[Any], Any]  # its previous result (None: the first run) in, its result out
    ecwid_calls: Callable[[], list[Any]]
    requests: int  # booked together
    event: dict[str, Any]  # what the state machine hands its handler


def state_case(
    step: Callable[[CloneState], CloneState], first: CloneState, calls: Callable[[], list[Any]], requests: int = 1
) -> Case:
    """A step of the clone's state: a run that waited is handed its own result back."""
    return Case(step, lambda previous: step(previous or first), calls, requests, first.to_state())


def poll_case(clock: Clock, gate: RequestGate) -> Case:
    jobs = MemoryJobs(clock)
    timing = PollTiming(deadline_seconds=1800, clock=clock)
    started = StartClone(lambda: FakeCloneClient(starts=["t-1"]), jobs, timing)(CloneState(CLONE_ID, CLONE))
    client = FakeCloneClient(statuses=[CloneStatus("IN_PROGRESS")])
    gated = Gated(client, gate, {"get_status": Priority.RUNNING})
    step = CheckCloneStatus(lambda: gated, jobs, MemoryMappings(), timing, gate)
    return state_case(step, started, lambda: client.polled)


def personalize_case(clock: Clock, gate: RequestGate) -> Case:
    jobs = MemoryJobs(clock)
    jobs.record_intent(CLONE_ID, PERSONALIZED)
    profile = Recorder()
    gated = Gated(profile, gate, {"update": Priority.RUNNING})
    step = PersonalizeStore(lambda: gated, lambda store_id: "store-token", jobs, gate)
    return state_case(step, CloneState(CLONE_ID, PERSONALIZED, status="COMPLETED"), lambda: profile.calls)


def instant_site_case(clock: Clock, gate: RequestGate) -> Case:
    jobs = MemoryJobs(clock)
    jobs.record_intent(CLONE_ID, PERSONALIZED)
    site = Recorder()
    calls = ("access_token", "clone", "update_profile")
    gated = Gated(site, gate, dict.fromkeys(calls, Priority.RUNNING))
    step = CloneInstantSite(lambda: gated, lambda store_id: "secret", jobs, gate)
    # The token, the clone and the site's profile (the store's name): three requests booked together.
    return state_case(step, CloneState(CLONE_ID, PERSONALIZED, status="COMPLETED"), lambda: site.calls, 3)


def start_case(clock: Clock, gate: RequestGate) -> Case:
    client = FakeCloneClient(starts=["t-1"])
    gated = Gated(client, gate, {"start_clone": Priority.NEW})
    step = StartClone(lambda: gated, MemoryJobs(clock), PollTiming(deadline_seconds=1800, clock=clock), gate)
    return state_case(step, CloneState(CLONE_ID, CLONE), lambda: client.posted)


def create_store_case(clock: Clock, gate: RequestGate) -> Case:
    jobs = MemoryJobs(clock)
    jobs.record_intent(CLONE_ID, PROVISIONING)
    creator = FakeStoreCreator([CreatedStore(7001, "token")])
    gated = Gated(creator, gate, {"create_store": Priority.NEW})
    provisioning = StoreProvisioning(lambda: gated, jobs, save_token=lambda store_id, token: None, gate=gate)
    case = state_case(provisioning.create_store, CloneState(CLONE_ID, PROVISIONING), lambda: creator.posted)
    return replace(case, step=provisioning)


def settle_case(clock: Clock, gate: RequestGate) -> Case:
    jobs = JobsWithStoreActions(clock)
    jobs.record_intent(CLONE_ID, PROVISIONING)
    jobs.record_created_store(CLONE_ID, 7001, token_saved=True)
    jobs.advance(CLONE_ID, "FAILED", errorCode="CLONE_FAILED", errorMessage="no")
    reseller = Recorder()
    gated = Gated(reseller, gate, {"suspend": Priority.RUNNING})
    actions = StoreActions(jobs, lambda: gated, "suspend", gate)

    # Its result is the job's storeAction, or its turn to wait for.
    run = partial(actions.settle_failed, CLONE_ID)
    return Case(actions, run, lambda: reseller.calls, 1, {"cloneId": CLONE_ID})


RUNNING_WORK = {
    "CheckCloneStatus": poll_case,
    "PersonalizeStore": personalize_case,
    "CloneInstantSite": instant_site_case,
    "SettleFailedStore": settle_case,
}
NEW_WORK = {"StartClone": start_case, "CreateStore": create_store_case}


def _turn(result: Any) -> BudgetTurn | None:
    """The turn a step's result waits for (None: the step ran)."""
    return result if isinstance(result, BudgetTurn) else result.budget if isinstance(result, CloneState) else None


@pytest.mark.parametrize("name", [*RUNNING_WORK, *NEW_WORK])
def test_a_step_told_to_wait_calls_nothing_and_hands_back_its_turn(name, clock, budget, gate):
    case = {**RUNNING_WORK, **NEW_WORK}[name](clock, gate)
    budget.tat = clock.now + BACKLOG

    result = case.run(None)

    turn = _turn(result)
    assert turn is not None and turn.wait_seconds >= 1, "the Wait state's seconds"
    assert case.ecwid_calls() == [], "no request went"
    if isinstance(result, CloneState):
        assert result.to_state()["budget"]["waitSeconds"] == turn.wait_seconds  # what the ASL reads


@pytest.mark.parametrize("name", RUNNING_WORK)
def test_running_work_told_to_wait_goes_on_its_booking_at_the_next_run_and_books_nothing_new(name, clock, budget, gate):
    case = RUNNING_WORK[name](clock, gate)
    budget.tat = clock.now + BACKLOG

    waited = case.run(None)
    turn = _turn(waited)
    assert turn is not None and turn.tokens == case.requests and turn.booked_at == clock.now + BACKLOG
    assert turn.wait_seconds == BACKLOG
    booked = budget.tat
    clock.advance(turn.wait_seconds)
    done = case.run(waited)

    assert _turn(done) is None and len(case.ecwid_calls()) == case.requests
    assert budget.tat == booked, "the requests went on the booking the wait held"


@pytest.mark.parametrize("name", NEW_WORK)
def test_new_work_refused_counts_nothing_backs_off_further_each_run_then_goes_once(name, clock, budget, gate):
    case = NEW_WORK[name](clock, gate)
    budget.tat = clock.now + BACKLOG  # past new work's horizon: refused, nothing booked
    booked = budget.tat

    first = case.run(None)
    second = case.run(first)

    turns = [_turn(first), _turn(second)]
    assert [turn.refusals for turn in turns if turn] == [1, 2] and budget.tat == booked
    assert case.ecwid_calls() == []
    budget.tat = None  # the schedule cleared
    done = case.run(second)
    assert _turn(done) is None and len(case.ecwid_calls()) == 1


@pytest.mark.parametrize("name", NEW_WORK)
def test_new_work_booked_ahead_posts_once_on_its_booking(name, clock, budget, gate):
    case = NEW_WORK[name](clock, gate)
    budget.tat = clock.now + 3  # within new work's horizon: booked, 3 s ahead

    waited = case.run(None)
    turn = _turn(waited)
    assert turn is not None and turn.tokens == 1 and turn.wait_seconds == 3 and case.ecwid_calls() == []
    booked = budget.tat
    clock.advance(turn.wait_seconds)
    done = case.run(waited)

    assert _turn(done) is None and len(case.ecwid_calls()) == 1 and budget.tat == booked


def test_a_step_told_to_wait_has_not_counted_a_post(clock, budget, gate):
    jobs = MemoryJobs(clock)
    step = StartClone(
        lambda: FakeCloneClient(starts=["t-1"]), jobs, PollTiming(deadline_seconds=1800, clock=clock), gate
    )
    budget.tat = clock.now + BACKLOG

    step(CloneState(CLONE_ID, CLONE))

    job = jobs.get(CLONE_ID)
    assert job is not None and job.status == "STARTING" and "postAttempts" not in job


def test_a_store_creation_told_to_wait_has_not_counted_a_post(clock, budget, gate):
    jobs = MemoryJobs(clock)
    jobs.record_intent(CLONE_ID, PROVISIONING)
    step = StoreProvisioning(lambda: FakeStoreCreator(), jobs, save_token=lambda store_id, token: None, gate=gate)
    budget.tat = clock.now + BACKLOG

    step.create_store(CloneState(CLONE_ID, PROVISIONING))

    job = jobs.get(CLONE_ID)
    assert job is not None and job.status == "STARTING" and "storeCreateAttempts" not in job


def test_a_poll_keeps_its_turn_in_budget_like_every_step_and_never_waits_past_the_deadline(clock, budget, gate):
    case = poll_case(clock, gate)
    clock.advance(1800 - 5)  # 5 s before the deadline; the budget's turn is 20 s away
    budget.tat = clock.now + BACKLOG

    waited = case.run(None)

    assert isinstance(waited, CloneState) and waited.budget is not None and waited.poll is not None
    answer = waited.to_state()
    assert "budget" not in answer["poll"] and answer["budget"]["waitSeconds"] == answer["poll"]["waitSeconds"]
    assert 1 <= waited.poll.wait_seconds <= 5


# ---- every handler logs and counts the wait the same way --------------------------------------

HANDLERS = {  # the step's handler: its function in template.yaml, the runtime factory it calls
    "StartClone": ("StartCloneFunction", "start_clone"),
    "CheckCloneStatus": ("CheckCloneStatusFunction", "check_clone_status"),
    "PersonalizeStore": ("PersonalizeStoreFunction", "personalize_store"),
    "CloneInstantSite": ("CloneInstantSiteFunction", "clone_instant_site"),
    "CreateStore": ("CreateStoreFunction", "store_provisioning"),
    "SettleFailedStore": ("SettleFailedStoreFunction", "store_actions"),
}


@pytest.mark.parametrize("name", HANDLERS)
def test_every_handler_logs_and_counts_a_budget_wait_the_poll_too(name, clock, budget, gate, monkeypatch, emitted):
    from ecwid_cloner import runtime

    function, factory = HANDLERS[name]
    case = {**RUNNING_WORK, **NEW_WORK}[name](clock, gate)
    handler = load_module(TemplateModel().functions()[function])
    monkeypatch.setattr(handler, factory, lambda: case.step)
    logged: list[tuple[str, Any]] = []
    monkeypatch.setattr(runtime.logger, "info", lambda message, **kw: logged.append((message, kw.get("extra"))))
    budget.tat = clock.now + BACKLOG

    answer = handler.lambda_handler(case.event, LambdaContext(function))

    wait = answer["budget"]["waitSeconds"]
    assert logged == [("Waiting for the Ecwid request budget", {"budget": answer["budget"], "step": name})]
    metrics = {  # by metric name: the EMF line that carries it
        metric["Name"]: line
        for line in emitted()
        if "_aws" in line
        for directive in line["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert metrics["BudgetWaits"]["Step"] == name and metrics["BudgetWaits"]["BudgetWaits"] == [1.0]
    assert metrics["BudgetWaitSeconds"]["BudgetWaitSeconds"] == [float(wait)]
