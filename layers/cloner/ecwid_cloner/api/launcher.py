"""How a clone request becomes one execution: the job's intent written once, then one
Step Functions execution named by the clone ID (a second start of the same clone is the same
clone), whichever entry point asked: the HTTP API, the signup queue, the local CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecwid_cloner.data.job import Job
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.models import CloneRequest, clone_id_of, clone_key

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


class CloneConflictError(Exception):
    """Another clone into the same target is running."""

    def __init__(self, running: Job):
        super().__init__(f"clone {running.clone_id} into store {running.target_store_id} is still running")
        self.running = running


class CloneLauncher:
    def __init__(self, jobs: JobsRepository, stepfunctions: SFNClient, state_machine_arn: str):
        self._jobs = jobs
        self._sfn = stepfunctions
        self._state_machine_arn = state_machine_arn

    def launch(
        self, request: CloneRequest, request_id: str | None = None, *, signup_id: str | None = None
    ) -> tuple[Job, bool]:
        """Start the clone (once); returns its job and whether this call started it.

        A request (or signup) ID seen before returns its clone. A request that
        names a merchant gets a new store, so nothing else can be running into
        it. Otherwise a target that is being cloned allows no second clone:
        without a request ID, the running clone of the same source, target and
        scope is the answer; anything else is a conflict.
        """
        key = clone_key(request_id, signup_id)
        origin = {"signupId": signup_id} if signup_id is not None else {"requestId": request_id} if request_id else {}
        if request.merchant is not None:
            return self.start(clone_id_of(request, key), request, origin)
        if key is not None:
            existing = self._jobs.get(clone_id_of(request, key))
            if existing is not None:
                self.start_execution(existing.clone_id, existing.request())
                return existing, False
        running = self._jobs.running_for_target(request.target)
        if running is not None:
            if key is None and running.is_same_clone(request):
                self.start_execution(running.clone_id, running.request())
                return running, False
            raise CloneConflictError(running)
        return self.start(clone_id_of(request, key), request, origin)

    def start(self, clone_id: str, request: CloneRequest, origin: Mapping[str, Any]) -> tuple[Job, bool]:
        """Record the job (once) and start its execution; the job and whether this call recorded it."""
        job, created = self._jobs.record_intent(clone_id, request, origin)
        # Starting again is harmless: the execution name is the clone ID.
        self.start_execution(clone_id, job.request())
        return job, created

    def start_execution(self, clone_id: str, request: CloneRequest) -> None:
        execution_input = json.dumps({"cloneId": clone_id, "request": request.to_state()}, sort_keys=True)
        try:
            self._sfn.start_execution(stateMachineArn=self._state_machine_arn, name=clone_id, input=execution_input)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
