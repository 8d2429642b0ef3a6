"""The HTTP API: start a clone, read its status, look up mappings."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecwid_cloner import runtime
from ecwid_cloner.api.action_requests import ERROR_CODE_PATTERN, BulkBody, CancelBody, RetryBody
from ecwid_cloner.api.bulk_actions import public_record
from ecwid_cloner.api.clone_requests import MAX_BODY_BYTES, CloneRequestBody
from ecwid_cloner.api.contract import (
    BAD_REQUEST,
    NOT_FOUND,
    BulkAnswer,
    BulkStarted,
    BulkView,
    Campaign,
    Cancelled,
    ClonesPage,
    CloneStarted,
    CloneView,
    Entity,
    MappingLookup,
    MappingsPage,
    PersonalDataErased,
    RetryStarted,
    Status,
    StoreActed,
    Timeline,
    answer,
    openapi_document,
)
from ecwid_cloner.api.launcher import CloneConflictError
from ecwid_cloner.api.queries import (
    as_created_at,
    clone_links,
    decode_clones_token,
    decode_page_token,
    encode_page_token,
    job_view,
)
from ecwid_cloner.api.timeline import ExecutionNotFound, cancel_event
from ecwid_cloner.data.job import plain
from ecwid_cloner.data.mappings import clone_partition
from ecwid_cloner.ecwid.budget import BudgetWait
from ecwid_cloner.errors import ActionRefused

logger, tracer = runtime.logger, runtime.tracer
app = APIGatewayRestResolver(enable_validation=True)
SOURCE_ID_PATTERN = r"^[0-9]{1,20}$"
StoreActionName = Literal["suspend", "resume", "delete"]  # store_actions.OPERATOR_STORE_ACTIONS


@app.post(
    "/clones",
    operation_id="startClone",
    summary="Start a clone",
    responses={
        202: answer("Started: the clone's ID, status and links", CloneStarted),
        200: answer("This request (same requestId, or signup) started it before: the clone it started", CloneStarted),
        400: BAD_REQUEST,
        409: answer("Another clone into this targetStoreId is running"),
        413: answer(f"The body is larger than {MAX_BODY_BYTES} bytes"),
        415: answer("The body is not application/json"),
    },
)
def start_clone(body: Annotated[CloneRequestBody, Body()]) -> Response[dict]:
    try:
        job, started = runtime.clone_launcher().launch(body.clone_request(), body.requestId)
    except CloneConflictError as conflict:
        return _error(
            409,
            "A clone into this store is already running",
            [
                {
                    "field": "targetStoreId",
                    "reason": f"store {body.targetStoreId} is being cloned by {conflict.running.clone_id}",
                }
            ],
        )
    logger.info("Clone requested", extra={"cloneId": job.clone_id, "started": started})
    return Response(
        status_code=202 if started else 200,
        content_type="application/json",
        body={"cloneId": job.clone_id, "status": job.status, "links": clone_links(job.clone_id, _stage_path())},
    )


@app.get(
    "/clones",
    operation_id="listClones",
    summary="List clones of one status, newest first",
    description=(
        "Through the jobs table's status index (no scan), paged with nextToken. Examples: all failed clones "
        "today, `GET /clones?status=FAILED&since=2026-11-26T00:00:00Z`; the running ones, one call per running "
        "status: `GET /clones?status=IN_PROGRESS`, then QUEUED, WAITING, CREATING_STORE and STARTING; the "
        "clones into one store, `GET /clones?status=COMPLETED&targetStoreId=2001`; the clones that failed "
        "one way, `GET /clones?status=FAILED&errorCode=SOURCE_NOT_RESPONDING`."
    ),
    responses={
        200: answer("One page of clones, and the nextToken of the next (null on the last)", ClonesPage),
        400: BAD_REQUEST,
    },
)
def list_clones(
    status: Annotated[Status, Query()],
    targetStoreId: Annotated[int | None, Query(gt=0)] = None,
    sourceStoreId: Annotated[int | None, Query(gt=0)] = None,
    since: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
    errorCode: Annotated[str | None, Query(pattern=ERROR_CODE_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    nextToken: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[dict]:
    start_key, created_since = None, None
    try:
        created_since = as_created_at(since) if since is not None else None
    except ValueError as bad:
        return _since_refused(bad)
    if nextToken:
        try:
            start_key = decode_clones_token(nextToken, status)
        except ValueError as bad:
            return _error(400, "Invalid request", [{"field": "nextToken", "reason": str(bad)}])
    jobs, last_key = runtime.jobs_repository().list_by_status(
        status,
        since=created_since,
        target_store_id=targetStoreId,
        source_store_id=sourceStoreId,
        error_code=errorCode,
        limit=limit,
        start_key=start_key,
    )
    base = _stage_path()
    return Response(
        200,
        "application/json",
        {
            "clones": [job_view(job, base) for job in jobs],
            "nextToken": encode_page_token(last_key),
        },
    )


@app.get(
    "/campaign",
    operation_id="getCampaign",
    summary="A campaign at a glance: clones by status, slots, the line, the Ecwid budget, the drain",
    description=(
        "The clones by status (counted through the status index, with the filters given: pass `since` to "
        "count a campaign's clones, not every clone ever), the clone slots in use against MaxClonesInFlight "
        "and the line waiting for one, the Ecwid request budget (requestsBooked is a running total: two reads "
        "a while apart give requests a minute), and how soon the line drains at the tighter of the budget's "
        "and the slots' pace."
    ),
    responses={200: answer("The campaign's figures now", Campaign), 400: BAD_REQUEST},
)
def get_campaign(
    since: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
    sourceStoreId: Annotated[int | None, Query(gt=0)] = None,
    targetStoreId: Annotated[int | None, Query(gt=0)] = None,
    errorCode: Annotated[str | None, Query(pattern=ERROR_CODE_PATTERN)] = None,
) -> Response[dict]:
    try:
        created_since = as_created_at(since) if since is not None else None
    except ValueError as bad:
        return _since_refused(bad)
    figures = runtime.campaign_view().snapshot(
        since=created_since, source_store_id=sourceStoreId, target_store_id=targetStoreId, error_code=errorCode
    )
    return Response(200, "application/json", figures)


# -- operators' actions: bulk first (its static path before /clones/<cloneId>) ------------------


@app.post(
    "/clones/bulk",
    operation_id="bulkAction",
    summary="Retry or cancel every clone a filter matches",
    description=(
        "A dry run answers how many clones match and the newest ten, and changes nothing. Otherwise the "
        "bulk runs in the background (a Step Functions execution, paced within Step Functions' quotas): "
        "follow it with GET /clones/bulk/{bulkId}. The same requestId again answers with the same bulk."
    ),
    responses={
        200: answer("A dry run's count; or this requestId's bulk, started before", BulkAnswer),
        202: answer("Started", BulkStarted),
        400: BAD_REQUEST,
        413: answer(f"The body is larger than {MAX_BODY_BYTES} bytes"),
        415: answer("The body is not application/json"),
    },
)
def bulk_action(body: Annotated[BulkBody, Body()]) -> Response[dict]:
    bulk_filter = body.filter.bulk_filter()
    if body.dryRun:
        return Response(200, "application/json", runtime.bulk_actions().dry_run(body.action, bulk_filter))
    record, started = runtime.bulk_actions().start(body.action, bulk_filter, request_id=body.requestId, by=_caller())
    logger.info("Bulk action", extra={"bulkId": record["bulkId"], "action": body.action, "started": started})
    return Response(
        202 if started else 200,
        "application/json",
        {
            "bulkId": record["bulkId"],
            "matched": plain(record["matched"]),
            "status": record["status"],
            "links": {"self": f"{_stage_path()}/clones/bulk/{record['bulkId']}"},
        },
    )


@app.get(
    "/clones/bulk/<bulkId>",
    operation_id="getBulkAction",
    summary="A bulk action's progress",
    responses={200: answer("The bulk: how many matched, done, failed, skipped", BulkView), 404: NOT_FOUND},
)
def get_bulk_action(bulkId: str) -> dict:
    record = runtime.bulk_records().get(bulkId)
    if record is None:
        raise NotFoundError(f"bulk {bulkId} not found")
    return public_record(record)


@app.post(
    "/clones/<cloneId>/retry",
    operation_id="retryClone",
    summary="Start a new attempt of a failed clone",
    description=(
        "For a FAILED, TIMED_OUT or CANCELLED clone: the same source, scope, options, merchant and profile, into "
        "the failed clone's store when it has one (a store made for the merchant is reused, never made twice), "
        "else into targetStoreId. A failure a retry cannot fix as it stands is refused with what to do first."
    ),
    responses={
        202: answer("The new attempt started", RetryStarted),
        200: answer("Retried before (a repeat, or the same requestId): that attempt", RetryStarted),
        400: BAD_REQUEST,
        404: NOT_FOUND,
        409: answer("Not retried: the clone has not failed, was retried by another request, or needs an action first"),
        429: answer("Its suspended store must be resumed first and Ecwid's request budget is spent: Retry-After"),
        413: answer(f"The body is larger than {MAX_BODY_BYTES} bytes"),
        415: answer("The body is not application/json"),
    },
)
def retry_clone(cloneId: str, body: Annotated[RetryBody | None, Body()] = None) -> Response[dict]:
    body = body or RetryBody()
    attempt, started = runtime.clone_retries().retry(
        cloneId, target_store_id=body.targetStoreId, request_id=body.requestId, confirm_target=body.confirmTarget
    )
    logger.info("Clone retried", extra={"cloneId": cloneId, "attempt": attempt.clone_id, "started": started})
    return Response(
        202 if started else 200,
        "application/json",
        {
            "cloneId": attempt.clone_id,
            "retryOf": cloneId,
            "attempt": attempt.attempt,
            "status": attempt.status,
            "links": clone_links(attempt.clone_id, _stage_path()),
        },
    )


@app.post(
    "/clones/<cloneId>/cancel",
    operation_id="cancelClone",
    summary="Cancel a clone that has not ended",
    description=(
        "Stops its execution, gives back its slot or its place in line at once, ends the job CANCELLED and "
        "publishes Clone Failed (errorCode CANCELLED). Ecwid cannot stop a clone it accepted: then "
        "ecwidTicketMayComplete is true, and a retry into that store waits for the operator's confirmTarget."
    ),
    responses={
        202: answer("Cancelled", Cancelled),
        200: answer("Cancelled before", Cancelled),
        400: BAD_REQUEST,
        404: NOT_FOUND,
        409: answer("The clone has ended"),
        413: answer(f"The body is larger than {MAX_BODY_BYTES} bytes"),
        415: answer("The body is not application/json"),
    },
)
def cancel_clone(cloneId: str, body: Annotated[CancelBody | None, Body()] = None) -> Response[dict]:
    body = body or CancelBody()
    job, cancelled = runtime.clone_cancellations().cancel(cloneId, reason=body.reason, by=_caller())
    logger.info("Clone cancelled", extra={"cloneId": cloneId, "cancelled": cancelled})
    view = job.view(("cloneId", "status", "cancelledAt", "cancelledBy", "ecwidTicketMayComplete"))
    return Response(
        202 if cancelled else 200, "application/json", {**view, "links": clone_links(cloneId, _stage_path())}
    )


@app.post(
    "/clones/<cloneId>/store/<action>",
    operation_id="actOnStore",
    summary="Suspend, resume or delete the store a clone of this stack created",
    description=(
        "Through Ecwid's Reseller API (the resellerKey in the credentials secret), within the shared request "
        "budget. Only for a store this stack created, once its clone has ended. Asked again, a done action "
        "answers 200 as it is; a delete whose first answer was lost is taken as done."
    ),
    responses={
        200: answer("Done (now, or before)", StoreActed),
        400: BAD_REQUEST,
        404: NOT_FOUND,
        409: answer("Not this stack's store, the clone runs or was retried, or the store was deleted"),
        429: answer("Ecwid's request budget is spent: try again after Retry-After seconds"),
    },
)
def act_on_store(cloneId: str, action: Annotated[StoreActionName, Path()]) -> Response[dict]:
    job, acted = runtime.store_actions().act(cloneId, action, by=_caller())
    logger.info("Store action", extra={"cloneId": cloneId, "storeAction": job.get("storeAction"), "acted": acted})
    return Response(
        200,
        "application/json",
        {
            "cloneId": cloneId,
            "targetStoreId": job.target_store_id,
            "storeAction": plain(job["storeAction"]),
            "links": clone_links(cloneId, _stage_path()),
        },
    )


@app.get(
    "/clones/<cloneId>/timeline",
    operation_id="getCloneTimeline",
    summary="Where a clone spent its time, step by step",
    responses={200: answer("The steps of the clone's execution, and the seconds by phase", Timeline), 404: NOT_FOUND},
)
def clone_timeline(cloneId: str) -> dict:
    job = runtime.jobs_repository().get(cloneId)
    if job is None:
        raise NotFoundError(f"clone {cloneId} not found")
    try:
        steps = runtime.clone_timeline(cloneId)
    except ExecutionNotFound:
        raise NotFoundError(f"clone {cloneId} has no execution (yet)") from None
    cancelled = cancel_event(job)  # published by the API, not the state machine: the job says so
    return {"cloneId": cloneId, **steps, "events": steps["events"] + ([cancelled] if cancelled else [])}


@app.delete(
    "/clones/<cloneId>/merchant",
    operation_id="erasePersonalData",
    summary="Erase the merchant's personal data from an ended clone and its attempts",
    description="The e-mail, name, IP and the profile asked for go; the clone's facts stay. Repeating it is harmless.",
    responses={
        200: answer("Erased from these clones", PersonalDataErased),
        404: NOT_FOUND,
        409: answer("The clone (or one of its attempts) has not ended: it still needs the data"),
    },
)
def erase_personal_data(cloneId: str) -> dict:
    erased = runtime.personal_data().erase(cloneId)
    logger.info("Personal data erased", extra={"cloneId": cloneId, "erased": erased})
    return {"cloneId": cloneId, "erased": erased}


@app.get(
    "/clones/<cloneId>",
    operation_id="getClone",
    summary="A clone's status",
    responses={
        200: answer("The clone's job", CloneView),
        404: NOT_FOUND,
    },
)
def get_clone(cloneId: str) -> dict:
    job = runtime.jobs_repository().get(cloneId)
    if job is None:
        raise NotFoundError(f"clone {cloneId} not found")
    return job_view(job, _stage_path())


@app.get(
    "/clones/<cloneId>/mappings",
    operation_id="listMappings",
    summary="A clone's source-to-target ID mappings, page by page",
    responses={
        200: answer("One page of mappings, and the nextToken of the next (null on the last)", MappingsPage),
        400: BAD_REQUEST,
        404: NOT_FOUND,
    },
)
def list_mappings(
    cloneId: str,
    entity: Annotated[Entity, Query()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    nextToken: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[dict]:
    if runtime.jobs_repository().get(cloneId) is None:
        raise NotFoundError(f"clone {cloneId} not found")
    start_key = None
    if nextToken:
        try:
            start_key = decode_page_token(nextToken, clone_partition(cloneId, entity))
        except ValueError as bad:
            return _error(400, "Invalid request", [{"field": "nextToken", "reason": str(bad)}])
    page, last_key = runtime.mapping_store().page(cloneId, entity, limit=limit, start_key=start_key)
    return Response(
        200,
        "application/json",
        {
            "cloneId": cloneId,
            "entity": entity,
            "mappings": [{"sourceId": source, "targetId": target} for source, target in page.items()],
            "nextToken": encode_page_token(last_key),
        },
    )


@app.get(
    "/stores/<targetStoreId>/mappings/<entity>/<sourceId>",
    operation_id="lookupMapping",
    summary="The target ID of one source ID in a store",
    responses={
        200: answer("The mapping", MappingLookup),
        400: BAD_REQUEST,
        404: NOT_FOUND,
    },
)
def lookup_mapping(
    targetStoreId: Annotated[int, Path(gt=0)],
    entity: Annotated[Entity, Path()],
    sourceId: Annotated[str, Path(pattern=SOURCE_ID_PATTERN)],
) -> dict:
    target_id = runtime.mapping_store().get(targetStoreId, entity, sourceId)
    if target_id is None:
        raise NotFoundError(f"no {entity} mapping for source ID {sourceId} in store {targetStoreId}")
    return {"targetStoreId": targetStoreId, "entity": entity, "sourceId": sourceId, "targetId": target_id}


@app.get(
    "/openapi.json",
    operation_id="openApiDocument",
    summary="This API's OpenAPI document",
    responses={
        200: {
            "description": "The OpenAPI 3.1 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
def openapi() -> dict:
    return api_document()


@cache
def api_document() -> dict:
    """The contract, from the routes; docs/openapi.json is a copy the tests keep equal."""
    # Imported here: Powertools' OpenAPI models cost ~40 ms of every cold start otherwise.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server

    return openapi_document(
        json.loads(
            app.get_openapi_json_schema(
                title="store-cloner",
                version="1.0",
                description="Clone Ecwid template stores into new stores, or into stores made for new merchants.",
                servers=[Server(url="/v1", description="The API's stage")],
                security_schemes={
                    "api_key": APIKey(
                        name="x-api-key", in_=APIKeyIn.header, description="When deployed with ApiAuthMode=API_KEY"
                    ),
                    "sigv4": APIKey(
                        name="Authorization", in_=APIKeyIn.header, description="AWS Signature Version 4 (IAM)"
                    ),
                },
                security=[{"api_key": []}, {"sigv4": []}],
            )
        )
    )


@app.exception_handler(RequestValidationError)
def bad_request(error: RequestValidationError) -> Response:
    # One entry per bad field: where it is, and why (pydantic's reason).
    problems = [{"field": _field_name(problem), "reason": problem["msg"]} for problem in error.errors()]
    return _error(400, "Invalid request", problems)


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response:
    return _error(404, str(error.msg), [])


@app.exception_handler(BudgetWait)
def budget_spent(wait: BudgetWait) -> Response:
    # Ecwid's budget is the whole stack's: an operator's call waits its turn like a clone's step.
    seconds = str(wait.retry_after)
    response = _error(429, "Ecwid's request budget is spent", [{"field": "Retry-After", "reason": seconds}])
    response.headers["Retry-After"] = seconds
    return response


@app.exception_handler(ActionRefused)
def refused(error: ActionRefused) -> Response:
    return _error(error.status, error.message, [{"field": error.field, "reason": error.reason}])


def _caller() -> str:
    """Who acts, as API Gateway authenticated them: the IAM principal, the API key, else the address."""
    identity = app.current_event.request_context.identity
    return (
        identity.user_arn
        or (f"api key {identity.api_key_id}" if identity.api_key_id else None)
        or (f"caller at {identity.source_ip}" if identity.source_ip else "operator")
    )


def _stage_path() -> str:
    stage = app.current_event.request_context.stage
    return f"/{stage}" if stage and stage != "$default" else ""


def _since_refused(bad: ValueError) -> Response[dict]:
    return _error(400, "Invalid request", [{"field": "since", "reason": str(bad)}])


def _field_name(problem: dict) -> str:
    location = problem.get("loc") or ("body",)
    if problem.get("type") == "json_invalid" or len(location) == 1:
        return str(location[0])  # the whole body (or query string) is the problem
    return ".".join(str(part) for part in location[1:])


def _error(status: int, message: str, errors: list[dict]) -> Response[dict]:
    return Response(status_code=status, content_type="application/json", body={"message": message, "errors": errors})


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # Refused before anything parses the body. Here, not as app.use() middleware: Powertools
    # runs its request validation before any middleware, and would answer these 400.
    body = event.get("body") or ""
    if len(body.encode()) > MAX_BODY_BYTES:
        return _raw_error(413, "Request body too large", "body", f"must be at most {MAX_BODY_BYTES} bytes")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if body and content_type != "application/json":
        return _raw_error(415, "Unsupported media type", "Content-Type", "must be application/json")
    if body and body.lstrip().startswith("["):
        # Powertools would read a JSON array as its first element.
        return _raw_error(400, "Invalid request", "body", "Input should be a valid dictionary (a JSON object)")
    return app.resolve(event, context)


def _raw_error(status: int, message: str, field: str, reason: str) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": message, "errors": [{"field": field, "reason": reason}]}),
    }
