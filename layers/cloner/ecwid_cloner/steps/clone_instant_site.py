"""CloneInstantSite: after a COMPLETED store clone, the source's Instant Site copied to the target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.ecwid.budget import RequestGate
from ecwid_cloner.errors import EcwidTerminalError
from ecwid_cloner.models import CloneRequest, JobStatus, StepStatus, StoreProfile
from ecwid_cloner.state import BudgetTurn, CloneState, Failure, InstantSiteOutcome, StepOutcome
from ecwid_cloner.steps.budgeted import open_gate, run_budgeted
from ecwid_cloner.steps.personalize_store import profile_to_set

if TYPE_CHECKING:  # requests: loaded with the first HTTP client, not by every step
    from ecwid_cloner.ecwid.instant_site import InstantSiteClient


@dataclass
class CloneInstantSite:
    """After a COMPLETED store clone: copy the source's Instant Site to the target, and give the
    site the store's own name and e-mail when the store was personalized (the site clone copies
    the template site's profile: its SEO title and browser tab)."""

    client_factory: Callable[[], InstantSiteClient]
    store_secret_token: Callable[[int], str]  # store ID -> its secret_token
    jobs: JobsRepository
    gate: RequestGate = field(default_factory=open_gate)

    def __call__(self, state: CloneState) -> CloneState:
        request = state.request
        client = self.client_factory()
        secret_token = self.store_secret_token(request.target)
        site_profile = _site_profile(profile_to_set(self.jobs, state))
        # The token, the clone and the site's profile, booked together; one token serves all.
        cloned = run_budgeted(
            state.budget,
            self.gate,
            lambda: self._clone(client, request, secret_token, site_profile),
            requests=3 if site_profile else 2,
        )
        done = replace(state.carried(), status=JobStatus.COMPLETED, result=state.result)
        if isinstance(cloned, BudgetTurn):
            return replace(done, budget=cloned)
        self.jobs.set_instant_site(state.clone_id, cloned.value.to_state())
        return replace(done, instant_site=cloned.value)

    @staticmethod
    def _clone(
        client: InstantSiteClient, request: CloneRequest, secret_token: str, site_profile: dict[str, str]
    ) -> InstantSiteOutcome:
        """The site cloned (and given the store's profile): the step's outcome."""
        draft = bool(request.instant_site_draft)
        token = client.access_token(request.target, secret_token)
        client.clone(request.target, request.source_store_id, draft, token)
        profile = _site_profile_outcome(client, request.target, site_profile, token) if site_profile else None
        return InstantSiteOutcome(StepStatus.COMPLETED, draft, profile=profile)


def _site_profile(profile: StoreProfile | None) -> dict[str, str]:
    """The Instant Site profile fields that follow the store's: its name and e-mail, when set."""
    if profile is None:
        return {}
    fields = {"storeName": profile.store_name, "email": profile.email}
    return {name: value for name, value in fields.items() if value}


def _site_profile_outcome(client: InstantSiteClient, store_id: int, fields: dict[str, str], token: str) -> StepOutcome:
    """PUT the site's profile. Refused (a 4xx), the site clone still stands: the refusal is its
    outcome. Ecwid's or the network's trouble is raised: the state machine retries the step."""
    try:
        client.update_profile(store_id, fields, token)
    except EcwidTerminalError as refused:
        return StepOutcome(StepStatus.FAILED, error=Failure(refused.code, refused.message))
    return StepOutcome(StepStatus.COMPLETED, fields=tuple(sorted(fields)))
