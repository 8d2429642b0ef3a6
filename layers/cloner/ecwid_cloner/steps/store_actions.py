"""What becomes of a store this stack created: suspended, resumed or deleted through Ecwid's
Reseller API, after a failed provisioning (FailedStoreAction) or by an operator's hand.

A store the stack created and a clone that failed would otherwise stay behind, billed to the
partner and shown to nobody. The job records what was done (``storeAction``: action, status,
when, by whom); the Clone Failed event carries it. Every call passes the shared request budget
(the Reseller API is Ecwid's too), and every action is idempotent: asked again, a done action
answers as it is; a delete whose first answer was lost meets 404 and is taken as done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ecwid_cloner.data.job import RETRYABLE_STATUSES, Job, iso_utc
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.ecwid.budget import Priority, RequestGate, step_budget
from ecwid_cloner.ecwid.reseller import EcwidResellerClient, ResellerStoreNotFoundError
from ecwid_cloner.errors import ActionRefused, CloneNotFound, EcwidRetryableError, EcwidTerminalError, ErrorCode
from ecwid_cloner.models import StoreActionStatus
from ecwid_cloner.state import BudgetTurn
from ecwid_cloner.steps.budgeted import open_gate, run_budgeted

OPERATOR_STORE_ACTIONS = ("suspend", "resume", "delete")  # POST /clones/{cloneId}/store/{action}


@dataclass(frozen=True)
class StoreAction:
    """What became of a store this stack created (the job's ``storeAction``; SettleFailedStore's
    result at ``$.storeAction``): the action, how it went (DONE, KEPT, ...), when and by whom."""

    action: str  # keep, suspend, resume or delete
    status: str
    at: str  # ISO 8601, UTC
    by: str  # FailedStoreAction, or the operator who asked
    store_id: int | None = None
    reason: str | None = None  # why Ecwid did not do it (FAILED): its error code

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> StoreAction:
        store_id, reason = data.get("storeId"), data.get("reason")
        return cls(
            str(data["action"]),
            str(data["status"]),
            str(data["at"]),
            str(data["by"]),
            int(store_id) if store_id is not None else None,
            str(reason) if reason else None,
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"action": self.action, "status": self.status, "at": self.at, "by": self.by}
        if self.store_id is not None:
            state["storeId"] = self.store_id
        if self.reason:
            state["reason"] = self.reason
        return state


@dataclass
class StoreActions:
    jobs: JobsRepository
    reseller_factory: Callable[[], EcwidResellerClient | None]  # None: no reseller key configured
    failed_store_action: str = "suspend"
    gate: RequestGate | None = None  # for the wait a step returns when the budget is spent

    def settle_failed(self, clone_id: str, turn: BudgetTurn | None = None) -> StoreAction | BudgetTurn | None:
        """After a provisioning ended FAILED, TIMED_OUT or CANCELLED: FailedStoreAction on the store
        it created, once. Returns the job's storeAction (None when there is no store of ours, or the
        clone did not fail), or the turn to wait for when the budget says wait (``turn``: the one
        this step waited for)."""
        job = self.jobs.get(clone_id)
        return None if job is None else self._settle(job, turn)

    def _settle(self, job: Job, turn: BudgetTurn | None) -> StoreAction | BudgetTurn | None:
        if job.status not in RETRYABLE_STATUSES or not created_here(job) or job.get("retriedBy"):
            return None  # (a retried clone's store belongs to its attempt now)
        recorded = job.get("storeAction")
        if recorded and recorded.get("status") != StoreActionStatus.PENDING:
            return StoreAction.from_state(recorded)  # settled already, or an operator acted on it: that stands
        if self.failed_store_action == "keep":
            return self._record(job, "keep", StoreActionStatus.KEPT, by="FailedStoreAction")
        settled = run_budgeted(
            turn, self.gate or open_gate(), lambda: self._apply(job, self.failed_store_action, by="FailedStoreAction")
        )
        return settled if isinstance(settled, BudgetTurn) else settled.value

    def settle_cancelled(self, clone_id: str) -> dict[str, Any]:
        """For a cancel (its execution stopped, so no step of it will): FailedStoreAction now when
        the budget lets it go at once, else recorded PENDING for the reaper to finish. Returns the
        job's storeAction as the job keeps it ({}: nothing to settle)."""
        job = self.jobs.get(clone_id)
        if job is None:
            return {}
        try:
            settled = self._settle(job, None)
            if not isinstance(settled, BudgetTurn):
                return settled.to_state() if settled is not None else {}
        except EcwidRetryableError:
            pass  # Ecwid did not answer: the reaper tries again, as after a spent budget
        return self._record(job, self.failed_store_action, StoreActionStatus.PENDING, by="FailedStoreAction").to_state()

    def act(self, clone_id: str, action: str, *, by: str) -> tuple[Job, bool]:
        """An operator's suspend, resume or delete of the store a clone of this stack created.
        Returns the job and whether this call acted (False: done already). Refused (409) for a
        store the stack did not create, a clone still running or retried; BudgetWait passes up."""
        if action not in OPERATOR_STORE_ACTIONS:
            raise ActionRefused(400, "Invalid request", "action", "must be one of suspend, resume, delete")
        job = self.jobs.get(clone_id)
        if job is None:
            raise CloneNotFound(clone_id)
        if not created_here(job):
            raise ActionRefused(
                409,
                f"clone {clone_id} did not create its store",
                "targetStoreId",
                "only a store this stack created for a merchant is suspended, resumed or deleted here",
            )
        if not job.finished:
            raise ActionRefused(
                409, f"clone {clone_id} runs", "status", f"is {job.status}: act on its store once it has ended"
            )
        if job.get("retriedBy"):
            raise ActionRefused(
                409, f"clone {clone_id} was retried", "cloneId", f"its store is {job['retriedBy']}'s now: act there"
            )
        if job.store_action_done("delete") and action != "delete":
            raise ActionRefused(409, f"store {job.target_store_id} was deleted", "action", "nothing to do to it")
        if job.store_action_done(action):
            return job, False
        with step_budget():
            outcome = self._apply(job, action, by=by)
        return Job({**job, "storeAction": outcome.to_state()}), True

    def _apply(self, job: Job, action: str, *, by: str) -> StoreAction:
        client = self.reseller_factory()
        store_id = job.target_store_id
        assert store_id is not None
        if client is None:
            return self._record(job, action, StoreActionStatus.NO_RESELLER_KEY, by=by)
        call = {"suspend": client.suspend, "resume": client.resume, "delete": client.delete}[action]
        try:
            call(store_id, Priority.RUNNING)
        except ResellerStoreNotFoundError:
            # Deleted already (a lost answer of our own delete): done. For suspend or resume: gone.
            if action != "delete":
                return self._record(
                    job, action, StoreActionStatus.FAILED, by=by, reason=ErrorCode.RESELLER_STORE_NOT_FOUND
                )
        except EcwidTerminalError as refused:
            return self._record(job, action, StoreActionStatus.FAILED, by=by, reason=refused.code)
        return self._record(job, action, StoreActionStatus.DONE, by=by)

    def _record(self, job: Job, action: str, status: str, *, by: str, reason: str | None = None) -> StoreAction:
        outcome = StoreAction(action, status, iso_utc(), by, job.target_store_id, reason)
        self.jobs.set_store_action(job.clone_id, outcome.to_state())
        return outcome


def created_here(job: Job) -> bool:
    """Whether the clone's store is one this stack created: by its own CreateStore (carried to
    retries), found after a lost creation answer, or named by the operator who resolved one."""
    if job.target_store_id is None:
        return False
    return bool(job.get("storeCreatedAt") or job.get("storeGivenByOperator"))
