"""CreateStore: a new store for the merchant a request names, before the clone.

One signup, one store, whatever fails: the job counts every POST before it is
sent, a store once made is recorded on the job before anything else can fail
the step, and a retry finds it there. Ecwid cannot say which store has an
e-mail, so a 409 after an earlier POST of this job is our own store whose
answer was lost: a terminal error an operator resolves (docs/operations.md),
never a second store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.clone_state import CloneState
from ecwid_cloner.errors import EcwidTerminalError
from ecwid_cloner.jobs import Job, JobsRepository
from ecwid_cloner.models import CloneRequest
from ecwid_cloner.outcome_events import STORE_CREATED, event_for
from ecwid_cloner.request_budget import BudgetTurn, BudgetWait, Priority, RequestGate, step_budget, waiting
from ecwid_cloner.store_creation import EcwidStoreCreator, StoreEmailTakenError

MERCHANT_EMAIL_EXISTS = "MERCHANT_EMAIL_EXISTS"
STORE_CREATE_ANSWER_LOST = "STORE_CREATE_ANSWER_LOST"


@dataclass
class StoreProvisioning:
    creator_factory: Callable[[], EcwidStoreCreator]  # lazy: the app secret is read only when Ecwid is called
    jobs: JobsRepository
    save_token: Callable[[int, str], object]  # (store ID, its secret token) -> where it was written
    gate: RequestGate = field(default_factory=lambda: RequestGate(None))  # the shared Ecwid request budget

    def create_store(self, state: CloneState) -> CloneState:
        clone_id, request = state.clone_id, state.request
        job, _ = self.jobs.record_intent(clone_id, request)
        if job.target_store_id is not None:
            # Made by an earlier run of this step (or execution): go on with it.
            return self._created(state, request, job)
        if job.finished:
            failure = job.failure
            raise EcwidTerminalError(
                str(failure["errorCode"] or "STORE_NOT_CREATED"), str(failure["errorMessage"] or "")
            )
        # The merchant is on the job (the entry point wrote it), never in the state.
        merchant = job.merchant or request.merchant
        if merchant is None:
            raise EcwidTerminalError("INVALID_MERCHANT", "CreateStore needs a job with a merchant")

        turn = BudgetTurn.from_state(state.budget)
        try:
            with step_budget(turn):
                # The token first: a step told to wait must not have counted a POST.
                self.gate.hold(Priority.NEW)
                self.jobs.advance(clone_id, "CREATING_STORE")
                earlier_posts = self.jobs.begin_store_create(clone_id)
                created = self.creator_factory().create_store(merchant)
        except BudgetWait as wait:
            return CloneState(clone_id, request, budget=waiting(wait, turn, self.gate))
        except StoreEmailTakenError as taken:
            if earlier_posts:
                raise EcwidTerminalError(
                    STORE_CREATE_ANSWER_LOST,
                    f"{taken.message}, after an earlier attempt of this signup to create the store went unanswered: "
                    "the store was most likely made then. Find the store of the job's merchant e-mail in the reseller "
                    "panel and send the signup again with its targetStoreId",
                    taken.http_status,
                ) from None
            raise EcwidTerminalError(
                MERCHANT_EMAIL_EXISTS,
                f"A store with the merchant's e-mail exists already: {taken.message}",
                taken.http_status,
            ) from None

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

    def _created(self, state: CloneState, request: CloneRequest, job: Job) -> CloneState:
        store_id = job.target_store_id
        assert store_id is not None, "a created store is on the job"
        return CloneState(
            state.clone_id,
            request.with_target(store_id),
            store={"storeId": store_id, "tokenSaved": job.store_token_saved},
            event=event_for(job, STORE_CREATED),  # for PublishStoreCreated
        )
