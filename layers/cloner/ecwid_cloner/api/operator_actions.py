"""What an operator does to a clone: retry one that failed, cancel one that has not ended.

Both are safe to repeat: a retry links the failed job to its new attempt once (a conditional
write; the first caller wins and every later call answers with that attempt), and a cancel
ends a job once (a conditional write; a cancelled clone cancelled again answers as it is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecwid_cloner.admission.control import AdmissionControl
from ecwid_cloner.api.launcher import CloneLauncher
from ecwid_cloner.data.job import RETRYABLE_STATUSES, Job
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.errors import ActionRefused, CloneNotFound, ErrorCode
from ecwid_cloner.models import JobStatus

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

# Failures a retry cannot fix as they stand, and what the operator must do first.
NEEDS_A_STORE = "store"  # give targetStoreId
NEEDS_CONFIRMATION = "confirm"  # look at the target, then say confirmTarget: true
NEVER = "never"  # a new request, not a retry
_NOT_EMPTY = "the target store has a catalog: empty its products, categories and product types (or use another store)"
_PLAN = "the target store's plan does not allow this clone: upgrade it (or use another store)"
RETRY_BLOCKERS: dict[str, tuple[str, str]] = {
    ErrorCode.STORE_CREATE_ANSWER_LOST: (
        NEEDS_A_STORE,
        "the store was most likely created by the lost POST: find it (the reseller panel, by the merchant's "
        "e-mail) and retry with its targetStoreId",
    ),
    ErrorCode.STORE_CREATE_ANSWER_MALFORMED: (
        NEEDS_A_STORE,
        "the store may exist: find it and retry with its targetStoreId",
    ),
    ErrorCode.MERCHANT_EMAIL_EXISTS: (
        NEEDS_A_STORE,
        "the merchant's e-mail has a store already: retry with that store's targetStoreId, or send a new signup",
    ),
    ErrorCode.INVALID_MERCHANT: (NEVER, "Ecwid refused the merchant: send a corrected request as a new clone"),
    ErrorCode.SOURCE_NOT_FOUND: (
        NEVER,
        "the source store does not exist: start a new clone with the right sourceStoreId",
    ),
    ErrorCode.TARGET_NOT_FOUND: (NEVER, "the target store does not exist: start a new clone with the right store"),
    ErrorCode.TARGET_PRODUCTS_NOT_EMPTY: (NEEDS_CONFIRMATION, _NOT_EMPTY),
    ErrorCode.TARGET_CATEGORIES_NOT_EMPTY: (NEEDS_CONFIRMATION, _NOT_EMPTY),
    ErrorCode.TARGET_PRODUCT_TYPES_NOT_EMPTY: (NEEDS_CONFIRMATION, _NOT_EMPTY),
    ErrorCode.CLONE_ANSWER_LOST: (
        NEEDS_CONFIRMATION,
        "an earlier clone most likely filled the target already: empty it for a clone with a mapping",
    ),
    ErrorCode.CLONE_TIMED_OUT: (
        NEEDS_CONFIRMATION,
        "Ecwid may still be running the timed-out ticket, or left the target half filled: check the target and "
        "empty it",
    ),
    ErrorCode.TARGET_NOT_ALLOWED_TO_CLONE: (NEEDS_CONFIRMATION, _PLAN),
    ErrorCode.TARGET_PRODUCTS_LIMIT: (NEEDS_CONFIRMATION, _PLAN),
    ErrorCode.TARGET_CATEGORIES_LIMIT: (NEEDS_CONFIRMATION, _PLAN),
    ErrorCode.TARGET_DESTINATION_ZONES_LIMIT: (NEEDS_CONFIRMATION, _PLAN),
}
_TICKET_MAY_COMPLETE = (
    "Ecwid may still complete the cancelled clone's ticket into the target (Ecwid cannot stop one): wait for it, "
    "check the target and empty it"
)
# Carried from a failed job to its retry: what was made of the store, and the request's own key.
_CARRIED = ("requestId", "signupId", "storeCreatedAt", "storeTokenSaved", "storeCreateAttempts")


@dataclass
class CloneRetries:
    jobs: JobsRepository
    launcher: CloneLauncher
    # (clone ID, action, by): an operator's store action (StoreActions.act); resumes a suspended store
    act_on_store: Callable[[str, str, str], object] = lambda clone_id, action, by: None

    def retry(
        self,
        clone_id: str,
        *,
        target_store_id: int | None = None,
        request_id: str | None = None,
        confirm_target: bool = False,
    ) -> tuple[Job, bool]:
        """Start a new attempt of a failed clone (once); returns it and whether this call started it.

        The same source, scope, options, merchant and profile; into the failed job's target
        when it has one (a store made for the merchant is reused, never made twice), else into
        ``target_store_id`` (how a lost store-creation answer is resolved), else a store is made.
        """
        job = self.jobs.get(clone_id)
        if job is None:
            raise CloneNotFound(clone_id)
        if job.get("retriedBy"):
            return self._retried(job, request_id)
        if job.status not in RETRYABLE_STATUSES:
            raise ActionRefused(
                409,
                f"clone {clone_id} cannot be retried",
                "status",
                f"is {job.status}: only a FAILED, TIMED_OUT or CANCELLED clone is retried",
            )
        if target_store_id is not None and job.target_store_id is not None:
            raise ActionRefused(
                400,
                "Invalid request",
                "targetStoreId",
                f"the clone has store {job.target_store_id} already: its retry goes there",
            )
        _check_retry_can_succeed(job, target_store_id, confirm_target)
        if job.store_action_done("suspend"):
            # Its store was suspended when it failed: back in service before the attempt clones into it.
            self.act_on_store(clone_id, "resume", f"retry of {clone_id}")
        attempt_id = f"{job.retry_root}-a{job.attempt + 1}"
        linked = self.jobs.mark_retried(clone_id, attempt_id, request_id, target_store_id)
        if linked is not None:  # another call linked it first (a double click, a redelivery)
            return self._retried(linked, request_id)
        return self._start(job, attempt_id, target_store_id), True

    def _retried(self, job: Job, request_id: str | None) -> tuple[Job, bool]:
        """The attempt that already retries ``job``: the same request's answer, or a conflict."""
        earlier = job.get("retryRequestId")
        if request_id is not None and earlier is not None and earlier != request_id:
            raise ActionRefused(
                409,
                f"clone {job.clone_id} was retried already",
                "cloneId",
                f"is retried by {job['retriedBy']} (another request): act on that attempt",
            )
        attempt = self.jobs.get(str(job["retriedBy"]))
        if attempt is None:  # linked, then the call died before the attempt was recorded: finish it
            target = job.get("retryTargetStoreId")
            attempt = self._start(job, str(job["retriedBy"]), int(target) if target is not None else None)
        else:
            self.launcher.start_execution(attempt.clone_id, attempt.request())  # harmless when running
        return attempt, False

    def _start(self, job: Job, attempt_id: str, target_store_id: int | None) -> Job:
        request = job.request()
        carried: tuple[str, ...] = _CARRIED
        if job.store_action_done("delete"):
            # Its store was deleted when it failed: the attempt makes the merchant a new one.
            request, carried = request.with_target(None), ("requestId", "signupId")
        if target_store_id is not None:
            request = request.with_target(target_store_id)
        origin: dict[str, Any] = {
            "retryOf": job.clone_id,
            "retryRoot": job.retry_root,
            "attempt": job.attempt + 1,
            **{name: job[name] for name in carried if job.get(name) is not None},
        }
        if target_store_id is not None:
            origin["storeGivenByOperator"] = True
        attempt, _ = self.launcher.start(attempt_id, request, origin)
        return attempt


def _check_retry_can_succeed(job: Job, target_store_id: int | None, confirm_target: bool) -> None:
    code = job.error_code or ""
    need, what = RETRY_BLOCKERS.get(code, ("", ""))
    if job.status == JobStatus.CANCELLED and job.get("ecwidTicketMayComplete") and not need:
        need, what = NEEDS_CONFIRMATION, _TICKET_MAY_COMPLETE
    if need == NEVER:
        raise ActionRefused(409, f"a retry of a clone that failed {code} cannot succeed", "errorCode", what)
    if need == NEEDS_A_STORE and target_store_id is None:
        raise ActionRefused(409, f"a retry of a clone that failed {code} needs a store", "targetStoreId", what)
    if need == NEEDS_CONFIRMATION and not confirm_target:
        raise ActionRefused(
            409,
            f"a retry of a clone that ended {code or job.status} cannot succeed as it stands",
            "confirmTarget",
            f"{what}; then retry with confirmTarget: true",
        )


@dataclass
class CloneCancellations:
    jobs: JobsRepository
    admission: AdmissionControl
    stop_execution: Callable[[str, str], None]  # (clone ID, cause): stops its execution, if it runs
    publish_failed: Callable[[Job], object]  # the Clone Failed event of the cancelled job
    # FailedStoreAction on a store the clone created (StoreActions.settle_cancelled): its storeAction
    settle_store: Callable[[str], dict[str, Any]] = lambda clone_id: {}

    def cancel(self, clone_id: str, *, reason: str | None, by: str) -> tuple[Job, bool]:
        """End a clone that has not ended: CANCELLED, its execution stopped, its slot or its place in
        line given back at once, Clone Failed published. Returns the job and whether this call did it."""
        ended = self.jobs.cancel(clone_id, reason=reason, by=by)  # the write first: a bulk's clones mostly run
        if ended is None:
            job = self.jobs.get(clone_id)
            if job is None:
                raise CloneNotFound(clone_id)
            if job.status == JobStatus.CANCELLED:
                return job, False
            raise ActionRefused(409, f"clone {clone_id} has ended", "status", f"is {job.status}: nothing to cancel")
        before, cancelled = ended
        # Stopped first, so that it takes nothing more; then its place in line when it was waiting,
        # else its slot (what it held when it stopped: the reaper sees the job CANCELLED, not WAITING).
        self.stop_execution(clone_id, f"Cancelled by {by}" + (f": {reason}" if reason else ""))
        self.admission.give_up(clone_id, before.slot_number if before.status == JobStatus.WAITING else None)
        store_action = self.settle_store(clone_id)
        if store_action:
            cancelled = Job({**cancelled, "storeAction": store_action})
        self.publish_failed(cancelled)
        return cancelled, True


def stop_execution(stepfunctions: SFNClient, state_machine_arn: str) -> Callable[[str, str], None]:
    """StopExecution of the execution named after a clone; one that has ended or never started is fine."""
    execution_prefix = state_machine_arn.replace(":stateMachine:", ":execution:")

    def stop(clone_id: str, cause: str) -> None:
        try:
            stepfunctions.stop_execution(
                executionArn=f"{execution_prefix}:{clone_id}", error=ErrorCode.CANCELLED, cause=cause
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise

    return stop


@dataclass
class PersonalData:
    jobs: JobsRepository

    def erase(self, clone_id: str) -> list[str]:
        """Erase the merchant's personal data from an ended clone and every attempt of it (the
        retries it made and the clones it retried); the clone IDs erased. Refused (409) while one
        of them runs: its steps still read them."""
        job = self.jobs.get(clone_id)
        if job is None:
            raise CloneNotFound(clone_id)
        chain = [job]
        for link in ("retryOf", "retriedBy"):
            linked: Job | None = job
            while linked is not None and linked.get(link):
                linked = self.jobs.get(str(linked[link]))
                if linked is not None:
                    chain.append(linked)
        running = [attempt.clone_id for attempt in chain if not attempt.finished]
        if running:
            raise ActionRefused(
                409, f"clone {clone_id} has an attempt that runs", "status", f"{', '.join(running)} has not ended"
            )
        for attempt in chain:
            if not self.jobs.erase_personal_data(attempt.clone_id):  # started again in between
                raise ActionRefused(409, f"clone {attempt.clone_id} runs again", "status", "has not ended")
        return sorted(attempt.clone_id for attempt in chain)
