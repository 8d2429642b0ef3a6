"""The HTTP API's answers as models, and the OpenAPI document built from its routes.

The models document what the handlers return (they return plain dicts: a model
here is a promise the contract test holds them to, not a second serializer).
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ecwid_cloner import models

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse


def words(vocabulary: type[StrEnum]) -> Any:
    """A vocabulary's words as a field's type: a Literal of their strings, so that the document
    states them inline (no schema of its own), a refusal names them as they are written, and a
    valid value comes in as the plain string, all as when they were spelled here."""
    return Literal[tuple(word.value for word in vocabulary)]


# The type checker sees the vocabulary itself (a StrEnum: a str); pydantic and the document, its words.
if TYPE_CHECKING:
    Status = models.JobStatus
    Entity = models.Entity
    Scope = models.Scope
    StepStatus = models.StepStatus
    StoreActionStatus = models.StoreActionStatus
    BulkStatus = models.BulkStatus
else:
    Status = words(models.JobStatus)
    Entity = words(models.Entity)
    Scope = words(models.Scope)
    StepStatus = words(models.StepStatus)
    StoreActionStatus = words(models.StoreActionStatus)
    BulkStatus = words(models.BulkStatus)
JSON = "application/json"


class Answer(BaseModel):
    # Built when the document is generated, not at every cold start of the API.
    model_config = ConfigDict(defer_build=True)


class FieldError(Answer):
    field: str = Field(description="The field, parameter or header at fault: a dotted path into the body, or 'body'")
    reason: str


class ErrorBody(Answer):
    """Every refusal: what went wrong, and one entry per bad field."""

    message: str
    errors: list[FieldError]


class CloneLinks(Answer):
    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    self_: str = Field(alias="self")
    products: str
    categories: str


class CloneStarted(Answer):
    cloneId: str
    status: Status
    links: CloneLinks


class StepError(Answer):
    errorCode: str
    errorMessage: str


class StepOutcome(Answer):
    """A step after the clone whose failure leaves the clone COMPLETED."""

    status: StepStatus
    fields: list[str] | None = Field(default=None, description="The profile fields set, as section.field")
    error: StepError | None = None


class StoreAction(Answer):
    """What became of the store this stack created: FailedStoreAction after a failed provisioning,
    or an operator's suspend, resume or delete."""

    action: Literal["keep", "suspend", "resume", "delete"]
    status: StoreActionStatus = Field(
        description="DONE by Ecwid; KEPT (keep); PENDING (a cancel met a spent budget: the reaper does it); "
        "NO_RESELLER_KEY (no resellerKey in the credentials secret); FAILED (Ecwid refused: reason)"
    )
    at: str
    by: str = Field(description="FailedStoreAction, or the operator who asked")
    storeId: int | None = None
    reason: str | None = Field(default=None, description="Ecwid's refusal, when FAILED")


class StoreActed(Answer):
    cloneId: str
    targetStoreId: int
    storeAction: StoreAction
    links: CloneLinks


class CloneView(Answer):
    """A clone's job; fields not known yet are null."""

    cloneId: str
    status: Status
    sourceStoreId: int
    targetStoreId: int | None = Field(description="null until CreateStore made the merchant's store")
    scope: Scope | None
    cloneDemoCatalog: bool | None
    ticket: str | None = Field(description="Ecwid's clone ticket")
    createdAt: str
    startedAt: str | None
    finishedAt: str | None
    durationSeconds: float | None
    polls: int | None
    products: int | None = Field(description="How many products were mapped")
    categories: int | None = Field(description="How many categories were mapped")
    errorCode: str | None
    errorMessage: str | None
    instantSite: dict[str, Any] | None = Field(
        description="The Instant Site step: status (PENDING, COMPLETED, FAILED), draft, error; the site's profile"
    )
    profile: StepOutcome | None = Field(
        description="The store profile step (PersonalizeStore): the names of the fields set, or its error"
    )
    requestId: str | None
    signupId: str | None
    merchant: dict[str, Any] | None
    storeCreatedAt: str | None
    storeTokenSaved: bool | None
    storeFoundAfterLostAnswer: bool | None = Field(
        description="true: the store's creation answer was lost and the Reseller API found the store"
    )
    storeTokenUnknown: bool | None = Field(
        description="true: the store's token never came (only the creation answer carries it): docs/operations.md"
    )
    storeAction: StoreAction | None = Field(description="What became of the store this stack created for it")
    eventFailures: list[dict[str, Any]] | None
    waitingPlace: int | None = Field(description="Place in the line for a clone slot, while WAITING")
    attempt: int | None = Field(description="1 for the clone as asked; n for its (n-1)th retry")
    retryOf: str | None = Field(description="The clone this attempt retries")
    retriedBy: str | None = Field(description="The attempt that retries this clone")
    cancelledAt: str | None
    cancelledBy: str | None
    cancelReason: str | None
    ecwidTicketMayComplete: bool | None = Field(
        description="Cancelled after Ecwid accepted the clone: Ecwid may still complete its ticket into the target"
    )
    personalDataErasedAt: str | None
    links: CloneLinks


class RetryStarted(Answer):
    cloneId: str = Field(description="The new attempt")
    retryOf: str
    attempt: int
    status: Status
    links: CloneLinks


class Cancelled(Answer):
    cloneId: str
    status: Literal[models.JobStatus.CANCELLED]
    cancelledAt: str
    cancelledBy: str
    ecwidTicketMayComplete: bool = Field(
        description="Ecwid had accepted the clone: it cannot be stopped there and may still fill the target"
    )
    links: CloneLinks


class BulkLinks(Answer):
    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    self_: str = Field(alias="self")


class BulkStarted(Answer):
    bulkId: str
    matched: int
    status: BulkStatus
    links: BulkLinks


class BulkAnswer(Answer):
    """A dry run's count (matched, sample), or the bulk this requestId started before (bulkId, ...)."""

    matched: int
    sample: list[str] | None = Field(default=None, description="A dry run: the newest matched clones, up to 10")
    bulkId: str | None = None
    status: BulkStatus | None = None
    links: BulkLinks | None = None


class BulkView(Answer):
    bulkId: str
    action: Literal["retry", "cancel"]
    filter: dict[str, Any]
    status: BulkStatus
    matched: int
    done: int
    failed: int
    skipped: int = Field(description="Matched, but the action did not apply (any more, or not as it stands)")
    requestId: str | None
    requestedBy: str | None
    createdAt: str
    finishedAt: str | None


class TimelineStep(Answer):
    step: str
    phase: str
    enteredAt: str
    leftAt: str | None
    seconds: float | None
    outcome: str


class SentEvent(Answer):
    """An outcome event sent for the clone: by the state machine (its Publish steps), or by the
    API when an operator cancelled the clone."""

    detailType: Literal["Store Created", "Clone Completed", "Clone Failed"] | None
    at: str
    outcome: str = Field(description="published, or not published (the error)")
    eventId: str | None = Field(description="EventBridge's ID of the event, when the state machine published it")
    detail: dict[str, Any] = Field(description="What the event carried: never a token, never personal data")
    sentBy: Literal["state machine", "cancel"]


class Timeline(Answer):
    cloneId: str
    status: str = Field(description="The execution's: RUNNING, SUCCEEDED, FAILED, ABORTED, TIMED_OUT")
    startedAt: str | None
    endedAt: str | None
    seconds: float | None
    phases: dict[str, float] = Field(description="Seconds by phase: slotWait, budgetWait, ecwidQueued, ...")
    steps: list[TimelineStep]
    events: list[SentEvent] = Field(description="The outcome events sent, in order")


class CampaignSlots(Answer):
    inFlight: int = Field(description="Clones holding a slot now")
    max: int = Field(description="MaxClonesInFlight")
    waiting: int = Field(description="Clones in line for a slot (numbers taken, not yet past the line)")
    arrivals: int = Field(description="Numbers ever taken in line (a running total)")
    passed: int = Field(description="Numbers ever past the line: admitted, cancelled or given up (a running total)")


class CampaignBudget(Answer):
    perMinute: float = Field(description="EcwidBudgetPerMinute: Ecwid requests a minute for the whole stack")
    burst: int
    timeScale: float = Field(description="1 when deployed; the local stack shrinks Ecwid's minute (and every wait)")
    requestsBooked: int = Field(description="Ecwid requests ever booked (a running total): sample it for a rate")
    bookedAheadSeconds: float = Field(description="How far ahead the budget's schedule is booked: 0 when idle")


class CampaignDrain(Answer):
    seconds: float = Field(description="Projected seconds until the line is through (0: no line)")
    clonesPerMinute: float = Field(description="The pace clones leave the line at, the tighter of the two limits")
    limitedBy: Literal["budget", "slots"]
    slotSeconds: float = Field(description="How long a clone holds its slot: the median of the latest completed")


class Campaign(Answer):
    at: str = Field(description="When these figures were read")
    since: str | None = Field(description="The counts are of clones created at or after this")
    counts: dict[str, int] = Field(description="Clones by status (every status, 0 included), with the filters")
    running: int = Field(description="The clones of the counts that have not ended")
    slots: CampaignSlots
    budget: CampaignBudget
    drain: CampaignDrain


class PersonalDataErased(Answer):
    cloneId: str
    erased: list[str] = Field(description="The clone and its attempts, whose merchant data is gone")


class ClonesPage(Answer):
    clones: list[CloneView]
    nextToken: str | None


class Mapping(Answer):
    sourceId: str
    targetId: str


class MappingsPage(Answer):
    cloneId: str
    entity: Entity
    mappings: list[Mapping]
    nextToken: str | None


class MappingLookup(Answer):
    targetStoreId: int
    entity: Entity
    sourceId: str
    targetId: str


def answer(description: str, model: type[BaseModel] = ErrorBody) -> OpenAPIResponse:
    """One documented answer of a route, for its ``responses``."""
    return {"description": description, "content": {JSON: {"model": model}}}


BAD_REQUEST = answer("A parameter or the body is invalid; errors name each field and why")
NOT_FOUND = answer("No such clone or mapping")


def openapi_document(schema: dict[str, Any]) -> dict[str, Any]:
    """Powertools' generated document, told the truth about validation errors.

    Powertools documents a 422 in FastAPI's shape on every route; this API answers
    400 with ``ErrorBody`` instead (the resolver's RequestValidationError handler),
    which each route that can refuse its input declares itself.
    """
    document = copy.deepcopy(schema)
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
            for parameter in operation.get("parameters", []):
                _without_null(parameter["schema"])
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return document


def _without_null(schema: dict[str, Any]) -> None:
    """A query parameter is absent or a string, never JSON's null: ``X | None`` is just X."""
    branches = schema.get("anyOf", [])
    others = [branch for branch in branches if branch != {"type": "null"}]
    if len(others) == 1 and len(branches) == 2:
        del schema["anyOf"]
        schema.update(others[0])
