"""PersonalizeStore: after a COMPLETED clone, the store's profile becomes the merchant's (or the
one asked for), not the template's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.ecwid.budget import RequestGate
from ecwid_cloner.models import JobStatus, StepStatus, StoreProfile
from ecwid_cloner.state import BudgetTurn, CloneState, StepOutcome
from ecwid_cloner.steps.budgeted import open_gate, run_budgeted

if TYPE_CHECKING:  # requests: loaded with the first HTTP client, not by every step
    from ecwid_cloner.ecwid.store_profile import EcwidStoreProfileClient


@dataclass
class PersonalizeStore:
    """After a COMPLETED clone: the store's profile becomes the merchant's (or the one asked
    for), not the template's that a clone with settings copied. The merchant and the profile
    asked for are read from the job: the state carries no personal data."""

    client_factory: Callable[[], EcwidStoreProfileClient]
    store_token: Callable[[int], str]  # store ID -> its secret token (the store's own REST token)
    jobs: JobsRepository
    gate: RequestGate = field(default_factory=open_gate)

    def __call__(self, state: CloneState) -> CloneState:
        done = replace(state.carried(), status=JobStatus.COMPLETED, result=state.result)
        profile = profile_to_set(self.jobs, state)
        if profile is None:
            return self._done(done, StepOutcome(StepStatus.COMPLETED, fields=()))
        store_id = state.request.target
        token = self.store_token(store_id)  # a missing token ends the step before any request is booked
        updated = run_budgeted(state.budget, self.gate, lambda: self.client_factory().update(store_id, token, profile))
        if isinstance(updated, BudgetTurn):
            return replace(done, budget=updated)
        return self._done(done, StepOutcome(StepStatus.COMPLETED, fields=tuple(profile.fields)))

    def _done(self, done: CloneState, outcome: StepOutcome) -> CloneState:
        self.jobs.set_profile(done.clone_id, outcome.to_state())
        return replace(done, profile=outcome)


def profile_to_set(jobs: JobsRepository, state: CloneState) -> StoreProfile | None:
    """The profile PersonalizeStore sets for this clone, from its job (None: nothing to set)."""
    if not state.request.personalize:
        return None
    job = jobs.get(state.clone_id)
    return (job.request() if job is not None else state.request).profile_to_set()
