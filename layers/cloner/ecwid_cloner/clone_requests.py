"""What users send to start a clone, and how a request becomes one execution.

Both entry points (the HTTP API and the SQS signup queue) validate with these
models and start clones through ``CloneLauncher``: the execution name is the
clone ID derived from the request, so a repeated request finds the clone it
already started instead of starting a second one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationInfo, field_validator

from ecwid_cloner.jobs import JobsRepository
from ecwid_cloner.models import CloneRequest, clone_id_for

MAX_BODY_BYTES = 4096  # a clone request is a few dozen bytes; refuse anything much larger
StoreId = StrictInt  # JSON numbers only: "123" or true are not store IDs
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


def _differs_from_source(target: int, info: ValidationInfo) -> int:
    if info.data.get("sourceStoreId") == target:
        raise ValueError("must differ from sourceStoreId")
    return target


class InstantSiteOption(BaseModel):
    """Clone the Instant Site too, once the store clone has COMPLETED."""

    model_config = ConfigDict(extra="forbid")

    draft: StrictBool  # true: saved as a draft in the target; false: published at once


class CloneRequestBody(BaseModel):
    """POST /clones."""

    model_config = ConfigDict(extra="forbid")

    sourceStoreId: StoreId = Field(gt=0)
    targetStoreId: StoreId = Field(gt=0)
    _target_differs = field_validator("targetStoreId")(_differs_from_source)
    scope: Literal["CATALOG", "STORE_SETTINGS"] | None = None
    cloneDemoCatalog: StrictBool = False
    requestId: str | None = Field(default=None, pattern=REQUEST_ID_PATTERN)
    instantSite: InstantSiteOption | None = None

    def clone_request(self) -> CloneRequest:
        draft = self.instantSite.draft if self.instantSite else None
        return CloneRequest(self.sourceStoreId, self.targetStoreId, self.scope, self.cloneDemoCatalog, draft)


class SignupMessage(BaseModel):
    """A signup event on the SQS queue; without a source, the template store is cloned."""

    model_config = ConfigDict(extra="forbid")

    signupId: str = Field(pattern=REQUEST_ID_PATTERN)
    sourceStoreId: StoreId | None = Field(default=None, gt=0)
    targetStoreId: StoreId = Field(gt=0)
    _target_differs = field_validator("targetStoreId")(_differs_from_source)
    scope: Literal["CATALOG", "STORE_SETTINGS"] | None = None
    instantSite: InstantSiteOption | None = None

    def clone_request(self, template_store_id: int | None) -> CloneRequest:
        source = self.sourceStoreId or template_store_id
        if source is None:
            raise ValueError("sourceStoreId: required, as no template store is configured")
        if source == self.targetStoreId:
            raise ValueError(f"targetStoreId: must differ from the template store {template_store_id}")
        draft = self.instantSite.draft if self.instantSite else None
        return CloneRequest(source, self.targetStoreId, self.scope, instant_site_draft=draft)


class CloneConflictError(Exception):
    """Another clone into the same target is running."""

    def __init__(self, running: dict[str, Any]):
        super().__init__(f"clone {running['cloneId']} into store {running['targetStoreId']} is still running")
        self.running = running


class CloneLauncher:
    def __init__(self, jobs: JobsRepository, stepfunctions, state_machine_arn: str):
        self._jobs = jobs
        self._sfn = stepfunctions
        self._state_machine_arn = state_machine_arn

    def launch(self, request: CloneRequest, request_id: str | None) -> tuple[dict[str, Any], bool]:
        """Start the clone (once); returns its job and whether this call started it.

        A request ID seen before returns its clone. Otherwise a target that is
        being cloned allows no second clone: without a request ID, the running
        clone of the same source, target and scope is the answer; anything else
        is a conflict.
        """
        if request_id is not None:
            existing = self._jobs.get(clone_id_for(request.target_store_id, request_id))
            if existing is not None:
                self._start_execution(existing["cloneId"], CloneRequest.from_state(existing))
                return existing, False
        running = self._jobs.running_for_target(request.target_store_id)
        if running is not None:
            if request_id is None and _same_clone(running, request):
                self._start_execution(running["cloneId"], CloneRequest.from_state(running))
                return running, False
            raise CloneConflictError(running)
        clone_id = clone_id_for(request.target_store_id, request_id or f"auto-{uuid.uuid4()}")
        job, created = self._jobs.record_intent(clone_id, request)
        # Starting again is harmless: the execution name is the clone ID.
        self._start_execution(clone_id, CloneRequest.from_state(job))
        return job, created

    def _start_execution(self, clone_id: str, request: CloneRequest) -> None:
        execution_input = json.dumps({"cloneId": clone_id, "request": request.to_state()}, sort_keys=True)
        try:
            self._sfn.start_execution(stateMachineArn=self._state_machine_arn, name=clone_id, input=execution_input)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise


def _same_clone(job: dict[str, Any], request: CloneRequest) -> bool:
    return int(job["sourceStoreId"]) == request.source_store_id and job.get("scope") == request.scope
