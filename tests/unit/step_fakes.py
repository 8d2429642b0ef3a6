"""More of what the fast step tests use beside tests/fake_ecwid.py: fake store-profile and Instant
Site clients answering from a script, a gate in front of any fake client (as EcwidHttp._send puts
the shared request budget in front of every Ecwid request of the real ones), that budget in
memory on the test's clock, and a COMPLETED clone as the steps after it receive it.

No HTTP: the team's rule keeps HTTP mocks of Ecwid to the clients' own unit tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ecwid_cloner.ecwid.budget import BudgetPolicy, Priority, RequestBudget, RequestGate
from ecwid_cloner.models import CloneRequest, StoreProfile
from ecwid_cloner.state import CloneState
from tests.fake_ecwid import _next
from tests.memory_stores import MemoryBudgetStore, MemoryJobs

STORE = 7001  # the store CreateStore made for a merchant

# Work that starts something waits behind running clones (clone_api.py, store_creation.py);
# every other call of the real clients is part of a clone Ecwid already runs.
NEW_WORK_CALLS = frozenset({"start_clone", "create_store"})


@dataclass
class Gated:
    """``client`` behind ``gate``: every call first passes gate.admit, at the real client's priority."""

    client: Any
    gate: RequestGate

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.client, name)
        priority = Priority.NEW if name in NEW_WORK_CALLS else Priority.RUNNING

        def gated(*args: Any, **kwargs: Any) -> Any:
            self.gate.admit(priority)
            return call(*args, **kwargs)

        return gated


@dataclass
class FakeStoreProfileClient:
    """EcwidStoreProfileClient.update: one scripted answer (Ecwid's body, or an error) per PUT."""

    answers: list[Any] = field(default_factory=lambda: [{"updateCount": 1}])
    puts: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # store, token, body sent

    def update(self, store_id: int, store_token: str, profile: StoreProfile) -> dict[str, Any]:
        self.puts.append((store_id, store_token, profile.to_ecwid()))
        return _next(self.answers, dict)


@dataclass
class FakeInstantSiteClient:
    """InstantSiteClient: each call takes the next scripted answer of its kind (a value, or an error)."""

    tokens: list[Any] = field(default_factory=lambda: ["site-token"])
    clones: list[Any] = field(default_factory=lambda: [{"status": 200}])
    profiles: list[Any] = field(default_factory=lambda: [{"status": 200}])
    calls: list[tuple[Any, ...]] = field(default_factory=list)  # every call, in order, with its arguments

    def access_token(self, store_id: int, secret_token: str) -> str:
        self.calls.append(("token", store_id, secret_token))
        return _next(self.tokens, str)

    def clone(self, target_store_id: int, source_store_id: int, draft: bool, access_token: str) -> dict[str, Any]:
        self.calls.append(("clone", target_store_id, source_store_id, draft, access_token))
        return _next(self.clones, dict)

    def update_profile(self, store_id: int, profile: dict[str, str], access_token: str) -> dict[str, Any]:
        self.calls.append(("profile", store_id, dict(profile), access_token))
        return _next(self.profiles, dict)


class InMemoryBudget:
    """The shared request budget on the test's clock, in memory: one request a second, none ahead
    of its turn (a burst of one), new work booked at most 30 s ahead. ``gate`` is what steps take."""

    policy = BudgetPolicy(per_minute=60, burst=1, new_work_horizon=30)

    def __init__(self, clock: Callable[[], float]) -> None:
        self.store = MemoryBudgetStore()
        self.budget = RequestBudget(self.store, self.policy, clock=clock)
        self.gate = RequestGate(self.budget, clock=clock)

    def run_ahead(self, seconds: int) -> None:
        """Book running clones' requests until the schedule runs ``seconds`` ahead of now."""
        for _ in range(seconds):
            self.budget.take(Priority.RUNNING)

    @property
    def booked_until(self) -> float | None:
        """The schedule's next free moment: it moves with every request booked, and only then."""
        return self.store.tat


def completed_clone(jobs: MemoryJobs, clone_id: str, request: CloneRequest, instant_site: bool = False) -> CloneState:
    """A clone of ``request`` that COMPLETED (into STORE when it names a merchant), as the state
    machine hands it to the steps after: through its JSON, so without the merchant or the profile
    asked for, which only the job keeps. ``instant_site``: the site asked for, as a draft."""
    if instant_site:
        request = replace(request, instant_site_draft=True)
    jobs.record_intent(clone_id, request)
    if request.target_store_id is None:
        jobs.record_created_store(clone_id, STORE, token_saved=True)
        request = request.with_target(STORE)
    jobs.advance(clone_id, "COMPLETED", ticket="t-1", products=2, categories=1)
    state = CloneState(clone_id, request, ticket="t-1", status="COMPLETED", result={"products": 2, "categories": 1})
    carried = state.to_state()
    assert "merchant" not in carried["request"] and "requestedProfile" not in carried["request"]
    return CloneState.from_state(carried)
