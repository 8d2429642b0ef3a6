"""CreateStore: a new store for the merchant a request names, before the clone.

One signup, one store, whatever fails: the job counts every POST before it is
sent, a store once made is recorded on the job before anything else can fail
the step, and a retry finds it there. Ecwid cannot say which store has an
e-mail, so a 409 after an earlier POST of this job is our own store whose
answer was lost. With the partner's Reseller API key configured, that store
is looked up (this merchant's e-mail, created since the job's first POST) and,
when exactly one matches, the clone goes on into it: its token, which only the
creation answer carries, is unknown (the steps that need it say
STORE_TOKEN_UNKNOWN). Without the key, or with no match or several, the clone
ends STORE_CREATE_ANSWER_LOST for an operator to resolve (docs/operations.md),
never with a second store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.data.job import Job
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.data.outcome_events import STORE_CREATED, event_for
from ecwid_cloner.ecwid.budget import Priority, RequestGate
from ecwid_cloner.ecwid.store_creation import CreatedStore, EcwidStoreCreator, StoreEmailTakenError
from ecwid_cloner.errors import EcwidTerminalError, ErrorCode
from ecwid_cloner.models import CloneRequest, JobStatus, Merchant
from ecwid_cloner.state import BudgetTurn, CloneState, OutcomeEvent, ProvisionedStore
from ecwid_cloner.steps.budgeted import Ran, open_gate, run_budgeted

if TYPE_CHECKING:  # requests: loaded with the first HTTP client
    from ecwid_cloner.ecwid.reseller import EcwidResellerClient

# Ecwid's clock and ours may differ by a little: the lookup starts this much before the first POST.
CLOCK_SKEW_SECONDS = 5.0


def _no_reseller_api() -> EcwidResellerClient | None:
    return None


@dataclass
class StoreProvisioning:
    creator_factory: Callable[[], EcwidStoreCreator]  # lazy: the app secret is read only when Ecwid is called
    jobs: JobsRepository
    save_token: Callable[[int, str], object]  # (store ID, its secret token): into the token store
    # The store's token never came (found after a lost answer): say so in the token store;
    # False when the store has a token there already (another provisioning made it).
    mark_token_unknown: Callable[[int], bool] = lambda store_id: True
    # The partner's Reseller API, or None when no reseller key is configured (lazy, like the creator).
    reseller_factory: Callable[[], EcwidResellerClient | None] = _no_reseller_api
    gate: RequestGate = field(default_factory=open_gate)  # the shared Ecwid request budget

    def create_store(self, state: CloneState) -> CloneState:
        clone_id, request = state.clone_id, state.request
        job, _ = self.jobs.record_intent(clone_id, request)
        if job.target_store_id is not None:
            # Made by an earlier run of this step (or execution): go on with it.
            return self._created(state, request, job)
        if job.finished:
            failure = job.failure
            raise EcwidTerminalError(
                str(failure["errorCode"] or ErrorCode.STORE_NOT_CREATED), str(failure["errorMessage"] or "")
            )
        # The merchant is on the job (the entry point wrote it), never in the state.
        merchant = job.merchant or request.merchant
        if merchant is None:
            raise EcwidTerminalError(ErrorCode.INVALID_MERCHANT, "CreateStore needs a job with a merchant")

        if job.store_create_conflict:
            # An earlier run met the 409 and began looking: never POST again, look again.
            made: Ran[CreatedStore | CloneState] | BudgetTurn = run_budgeted(
                state.budget, self.gate, lambda: self._found(state, request, self._lost_store(job, merchant.email))
            )
        else:
            # The token first (hold): a step told to wait must not have counted a POST.
            made = run_budgeted(
                state.budget, self.gate, lambda: self._post(state, request, job, merchant), hold=Priority.NEW
            )
        if isinstance(made, BudgetTurn):
            return CloneState(clone_id, request, budget=made)
        if isinstance(made.value, CloneState):
            return made.value  # going on into the store found after a lost answer
        created = made.value

        token_saved = False
        if created.token:
            try:
                self.save_token(created.store_id, created.token)
                token_saved = True
            except (ClientError, BotoCoreError):
                # The store exists: failing now would only POST again and meet a 409.
                # The clone goes on; the Instant Site step will say the token is missing.
                token_saved = False
        self.jobs.record_created_store(clone_id, created.store_id, token_saved)
        return self._created(state, request, self.jobs.get(clone_id) or job)

    def _post(
        self, state: CloneState, request: CloneRequest, job: Job, merchant: Merchant
    ) -> CreatedStore | CloneState:
        """POST the store (counted first): the store Ecwid made, or the state going on into the
        store found after a lost answer."""
        clone_id = state.clone_id
        self.jobs.advance(clone_id, JobStatus.CREATING_STORE)
        earlier_posts = self.jobs.begin_store_create(clone_id)
        try:
            return self.creator_factory().create_store(merchant)
        except StoreEmailTakenError as taken:
            if not earlier_posts:
                raise EcwidTerminalError(
                    ErrorCode.MERCHANT_EMAIL_EXISTS,
                    f"A store with the merchant's e-mail exists already: {taken.message}",
                    taken.http_status,
                ) from None
            if self.reseller_factory() is None:
                raise self._answer_lost(reason=taken.message) from None
            self.jobs.record_store_create_conflict(clone_id)
            return self._found(state, request, self._lost_store(self.jobs.get(clone_id) or job, merchant.email))

    def _lost_store(self, job: Job, email: str) -> int:
        """The one store the Reseller API lists for this e-mail since the job's first POST, or
        STORE_CREATE_ANSWER_LOST naming what it found."""
        reseller = self.reseller_factory()
        first_post = job.store_create_first_post_at
        if reseller is None or first_post is None:
            raise self._answer_lost()
        try:
            # The store Ecwid made is finished work: the lookup books its turn like a running clone's poll.
            stores = reseller.stores_of_email(email, first_post - CLOCK_SKEW_SECONDS, priority=Priority.RUNNING)
        except EcwidTerminalError as refused:  # the key refused, say: the store is as lost as without a key
            raise self._answer_lost(finding=f"The Reseller API could not look: {refused.message}") from None
        if len(stores) == 1 and stores[0].email is not None:
            return stores[0].store_id
        what = (
            "no store"
            if not stores
            else f"{len(stores)} stores"
            if len(stores) > 1
            else f"store {stores[0].store_id} without its e-mail"
        )
        raise self._answer_lost(finding=f"The Reseller API lists {what} for that e-mail since then.")

    def _found(self, state: CloneState, request: CloneRequest, store_id: int) -> CloneState:
        """Go on into the store found after a lost answer, as if the answer had come (without its token)."""
        if not self.mark_token_unknown(store_id):
            raise self._answer_lost(
                finding=f"The Reseller API lists store {store_id} for that e-mail, but its creation answer came to "
                "another provisioning (its token is kept): it is not this signup's.",
            )
        self.jobs.record_created_store(state.clone_id, store_id, token_saved=False, found_after_lost_answer=True)
        job = self.jobs.get(state.clone_id)
        assert job is not None, "the job was written before the store was looked up"
        return self._created(state, request, job)

    @staticmethod
    def _answer_lost(*, reason: str = "Ecwid answered 409", finding: str = "") -> EcwidTerminalError:
        # No e-mail here: the message goes into the Clone Failed event; the job's merchant names it.
        return EcwidTerminalError(
            ErrorCode.STORE_CREATE_ANSWER_LOST,
            f"{reason}, after an earlier attempt of this signup to create the merchant's store went unanswered: "
            f"the store was most likely made then. {finding + ' ' if finding else ''}Find the store of the job's "
            "merchant e-mail in the reseller panel and retry the clone with its targetStoreId",
            409,
        )

    def _created(self, state: CloneState, request: CloneRequest, job: Job) -> CloneState:
        store_id = job.target_store_id
        assert store_id is not None, "a created store is on the job"
        return CloneState(
            state.clone_id,
            request.with_target(store_id),
            store=ProvisionedStore(store_id, job.store_token_saved),
            event=OutcomeEvent.from_state(event_for(job, STORE_CREATED)),  # for PublishStoreCreated
        )
