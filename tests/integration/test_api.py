"""The HTTP API, end to end: API Gateway proxy events into the real ApiFunction,
clones run by the real state machine against the Ecwid sandbox over HTTP."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from datetime import datetime

import boto3
import pytest

from local.template_model import ROOT
from tests.integration.helpers import fresh_targets

TEMPLATE = 1003
OTHER_SOURCE = 1004  # a second source store of the sandbox
NON_EMPTY_TARGET = 3005  # the sandbox refuses a catalog clone into it: TARGET_PRODUCTS_NOT_EMPTY
# Validation cases aim here: a request that wrongly got through could not fill a store.
REFUSING_TARGET = NON_EMPTY_TARGET
RUNNING = ("STARTING", "QUEUED", "IN_PROGRESS")


# -- helpers ------------------------------------------------------------------------


def sample_request() -> dict:
    """The body of the sample POST /clones event (events/api_post_clones.json)."""
    path = ROOT / "events" / "api_post_clones.json"
    if path.exists():
        return json.loads(json.loads(path.read_text())["body"])
    return {"sourceStoreId": TEMPLATE, "targetStoreId": 2001, "scope": "CATALOG", "requestId": "partner-42-order-7"}


def clone_body(target: int, **fields) -> dict:
    """The sample request aimed at ``target``, with a request ID of its own."""
    body = {**sample_request(), "targetStoreId": target, "requestId": f"api-test-{uuid.uuid4()}"}
    body.update(fields)
    return {name: value for name, value in body.items() if value is not None}


def post(stack, body) -> tuple[int, dict]:
    return stack.api("POST", "/clones", body)


def job_count(stack) -> int:
    table = boto3.resource("dynamodb").Table(stack.jobs_table)
    answer = table.scan(Select="COUNT")
    count = answer["Count"]
    while "LastEvaluatedKey" in answer:
        answer = table.scan(Select="COUNT", ExclusiveStartKey=answer["LastEvaluatedKey"])
        count += answer["Count"]
    return count


def execution_names(stack) -> list[str]:
    return [execution["name"] for execution in stack.executions()]


def new_executions(stack, before: list[str]) -> list[str]:
    return list((Counter(execution_names(stack)) - Counter(before)).elements())


def error_fields(answer: dict) -> list[str]:
    return [problem["field"] for problem in answer["errors"]]


def reason_for(answer: dict, field: str) -> str:
    return next(problem["reason"] for problem in answer["errors"] if problem["field"] == field)


def ecwid_tickets(stack, target: int) -> list[str]:
    """The tickets the sandbox handed out for clones into ``target``."""
    return [
        entry["ticket"]
        for entry in stack.sandbox.request_log()
        if entry["method"] == "POST" and entry["query"].get("targetStoreId") == str(target) and entry.get("ticket")
    ]


def walk_mappings(stack, first_page_link: str, limit: int) -> tuple[dict[str, str], int]:
    """Every page of a clone's mapping, following nextToken; returns the mapping and the page count."""
    mapping, token, pages = {}, None, 0
    while True:
        link = f"{first_page_link}&limit={limit}" + (f"&nextToken={token}" if token else "")
        status, page = stack.api("GET", link)
        assert status == 200, page
        pages += 1
        assert len(page["mappings"]) <= limit
        sources = [item["sourceId"] for item in page["mappings"]]
        assert not set(sources) & set(mapping), "a source ID came back on two pages"
        mapping.update((item["sourceId"], item["targetId"]) for item in page["mappings"])
        token = page["nextToken"]
        if not token:
            return mapping, pages


def forged_token(partition: str, source_id: str = "0") -> str:
    """A well-formed page token (the API's own encoding) that points into ``partition``."""
    key = {"pk": {"S": "0#products#0"}, "cloneEntity": {"S": partition}, "sourceId": {"S": source_id}}
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def wait_all(stack, clone_ids) -> dict[str, dict]:
    return {clone_id: stack.wait_for_clone(clone_id) for clone_id in clone_ids}


# -- one completed and one failed clone, started together -----------------------------


@pytest.fixture(scope="module")
def clones(stack):
    """A catalog clone that completes and one Ecwid refuses, both through POST /clones.

    The completed clone's request is sent again while it runs and once more after
    it ended, with the same requestId: both repeats must find the first clone.
    """
    target = next(fresh_targets)
    names_before, jobs_before = execution_names(stack), job_count(stack)
    accepted_non_empty_before = stack.sandbox.accepted_clones(NON_EMPTY_TARGET)

    request = clone_body(target, scope="CATALOG")
    failing_request = clone_body(NON_EMPTY_TARGET, scope="CATALOG")
    first = post(stack, request)
    failing = post(stack, failing_request)
    repeat_while_running = post(stack, request)
    names_started = new_executions(stack, names_before)

    jobs = wait_all(stack, [first[1]["cloneId"], failing[1]["cloneId"]])
    repeat_after_end = post(stack, request)
    return {
        "target": target,
        "request": request,
        "failing_request": failing_request,
        "first": first,
        "failing": failing,
        "repeat_while_running": repeat_while_running,
        "repeat_after_end": repeat_after_end,
        "executions_started": names_started,
        "executions_at_end": new_executions(stack, names_before),
        "jobs_added": job_count(stack) - jobs_before,
        "accepted_non_empty_before": accepted_non_empty_before,
        "jobs": jobs,
    }


def test_post_clones_answers_202_with_the_clone_and_its_links(stack, clones):
    status, answer = clones["first"]

    assert status == 202
    assert set(answer) == {"cloneId", "status", "links"}
    assert answer["status"] in RUNNING
    # The clone ID is the execution's name: exactly this one execution started for it.
    assert clones["executions_started"].count(answer["cloneId"]) == 1
    # Every link leads somewhere that knows this clone.
    assert set(answer["links"]) == {"self", "products", "categories"}
    for name, link in answer["links"].items():
        link_status, body = stack.api("GET", link)
        assert link_status == 200, (name, body)
        assert body["cloneId"] == answer["cloneId"]


def test_same_request_id_returns_the_existing_clone_and_starts_nothing(stack, clones):
    clone_id = clones["first"][1]["cloneId"]
    for status, answer in (clones["repeat_while_running"], clones["repeat_after_end"]):
        assert status == 200
        assert answer["cloneId"] == clone_id
        assert answer["links"] == clones["first"][1]["links"]
    assert clones["repeat_while_running"][1]["status"] in RUNNING
    assert clones["repeat_after_end"][1]["status"] == "COMPLETED"
    # Three POSTs of one request, two of another: two executions, two jobs, one Ecwid clone.
    assert sorted(clones["executions_at_end"]) == sorted([clone_id, clones["failing"][1]["cloneId"]])
    assert clones["jobs_added"] == 2
    assert stack.sandbox.accepted_clones(clones["target"]) == 1


def test_get_clone_shows_a_completed_clone(stack, clones):
    clone_id, request = clones["first"][1]["cloneId"], clones["request"]
    source = stack.sandbox.store(request["sourceStoreId"])

    status, view = stack.api("GET", f"/clones/{clone_id}")

    assert status == 200
    assert view["cloneId"] == clone_id
    assert view["status"] == "COMPLETED"
    assert (view["sourceStoreId"], view["targetStoreId"]) == (request["sourceStoreId"], request["targetStoreId"])
    assert view["scope"] == request["scope"]
    assert view["cloneDemoCatalog"] is False
    assert ecwid_tickets(stack, request["targetStoreId"]) == [view["ticket"]]
    created, started, finished = (
        datetime.fromisoformat(view[name]) for name in ("createdAt", "startedAt", "finishedAt")
    )
    assert created <= started <= finished
    assert view["products"] == len(source["products"])
    assert view["categories"] == len(source["categories"])
    assert view["polls"] >= 1
    assert view["errorCode"] is None and view["errorMessage"] is None
    assert view["links"] == clones["first"][1]["links"]


def test_get_clone_shows_ecwids_error_for_a_failed_clone(stack, clones):
    status, started = clones["failing"]
    assert status == 202

    status, view = stack.api("GET", started["links"]["self"])

    assert status == 200
    assert view["cloneId"] == started["cloneId"]
    assert view["status"] == "FAILED"
    assert view["targetStoreId"] == NON_EMPTY_TARGET
    assert view["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"
    assert view["errorMessage"] == "Target store products should be empty"
    assert view["ticket"] is None  # Ecwid refused: no ticket was ever issued
    assert view["products"] is None and view["categories"] is None
    assert datetime.fromisoformat(view["createdAt"]) <= datetime.fromisoformat(view["finishedAt"])
    assert stack.sandbox.accepted_clones(NON_EMPTY_TARGET) == clones["accepted_non_empty_before"]


@pytest.mark.parametrize("path", ["/clones/{unknown}", "/clones/{unknown}/mappings?entity=products"])
def test_unknown_clone_is_404(stack, clones, path):
    # Same shape as a real clone ID, for the same target: only the digest differs.
    unknown = other_clone_id(clones["first"][1]["cloneId"])

    status, answer = stack.api("GET", path.format(unknown=unknown))

    assert status == 404
    assert unknown in answer["message"]


@pytest.mark.parametrize("entity", ["products", "categories"])
@pytest.mark.parametrize("limit", [7, 1000])
def test_mapping_pages_give_every_source_id_once(stack, clones, entity, limit):
    target = clones["target"]
    source = stack.sandbox.store(clones["request"]["sourceStoreId"])

    mapping, pages = walk_mappings(stack, clones["first"][1]["links"][entity], limit)

    assert sorted(mapping) == sorted(str(i) for i in source[entity])
    assert sorted(mapping.values()) == sorted(str(i) for i in stack.sandbox.store(target)[entity])
    assert pages >= -(-len(source[entity]) // limit)


def test_a_failed_clone_has_an_empty_mapping(stack, clones):
    status, page = stack.api("GET", clones["failing"][1]["links"]["products"])

    assert status == 200
    assert page["mappings"] == [] and page["nextToken"] is None


def other_clone_id(clone_id: str) -> str:
    """A clone ID of the same shape and target as ``clone_id``, with another digest."""
    target, digest = clone_id.rsplit("-", 1)
    return f"{target}-{'0' * len(digest) if digest.strip('0') else 'f' * len(digest)}"


def bad_tokens(clone_id: str, good_token: str) -> dict[str, str]:
    other_entity = good_token  # a products token, sent with entity=categories
    return {
        "garbage": "not-a-token",
        "base64 of non-JSON": base64.urlsafe_b64encode(b"hello").decode(),
        "JSON of another shape": base64.urlsafe_b64encode(b'{"pk": "x"}').decode(),
        "another clone's partition": forged_token(f"{other_clone_id(clone_id)}#products"),
        "another entity's token": other_entity,
        "truncated": good_token[: len(good_token) // 2],
        "too long": good_token + "A" * 2048,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "base64 of non-JSON",
        "JSON of another shape",
        "another clone's partition",
        "another entity's token",
        "truncated",
        "too long",
    ],
)
def test_tampered_next_token_is_400_naming_next_token(stack, clones, kind):
    clone_id = clones["first"][1]["cloneId"]
    status, first_page = stack.api("GET", f"/clones/{clone_id}/mappings?entity=products&limit=5")
    assert status == 200 and first_page["nextToken"]
    token = bad_tokens(clone_id, first_page["nextToken"])[kind]
    entity = "categories" if kind == "another entity's token" else "products"

    status, answer = stack.api("GET", f"/clones/{clone_id}/mappings?entity={entity}&nextToken={token}")

    assert status == 400, answer
    assert error_fields(answer) == ["nextToken"]
    assert reason_for(answer, "nextToken")


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("", "entity", "required"),
        ("entity=orders", "entity", "'products' or 'categories'"),
        ("entity=Products", "entity", "'products' or 'categories'"),
        ("entity=products&limit=0", "limit", "greater than or equal to 1"),
        ("entity=products&limit=1001", "limit", "less than or equal to 1000"),
        ("entity=products&limit=ten", "limit", "valid integer"),
    ],
)
def test_bad_mapping_list_query_is_400_naming_the_field(stack, clones, query, field, reason):
    clone_id = clones["first"][1]["cloneId"]

    status, answer = stack.api("GET", f"/clones/{clone_id}/mappings?{query}")

    assert status == 400, answer
    assert error_fields(answer) == [field]
    assert reason.lower() in reason_for(answer, field).lower()


@pytest.mark.parametrize("entity", ["products", "categories"])
def test_store_mapping_lookup_finds_what_the_clone_mapped(stack, clones, entity):
    target = clones["target"]
    mapping, _ = walk_mappings(stack, clones["first"][1]["links"][entity], 1000)
    for source_id in (min(mapping), max(mapping)):
        status, found = stack.api("GET", f"/stores/{target}/mappings/{entity}/{source_id}")

        assert status == 200
        assert found == {
            "targetStoreId": target,
            "entity": entity,
            "sourceId": source_id,
            "targetId": mapping[source_id],
        }


def test_store_mapping_lookup_is_404_when_absent(stack, clones):
    target = clones["target"]
    source_products = stack.sandbox.store(clones["request"]["sourceStoreId"])["products"]
    mapped = str(source_products[0])
    never_in_source = str(max(source_products) * 10)

    cases = [
        (target, "products", never_in_source),  # no such product was cloned
        (NON_EMPTY_TARGET, "products", mapped),  # that clone failed: nothing mapped in that store
        (target, "categories", mapped),  # a product's ID is no category
    ]
    for store, entity, source_id in cases:
        status, answer = stack.api("GET", f"/stores/{store}/mappings/{entity}/{source_id}")
        assert status == 404, (store, entity, source_id, answer)
        assert source_id in answer["message"]


@pytest.mark.parametrize(
    ("store", "entity", "source_id", "field", "reason"),
    [
        ("0", "products", "100000000", "targetStoreId", "greater than 0"),
        ("-1", "products", "100000000", "targetStoreId", "greater than 0"),
        ("abc", "products", "100000000", "targetStoreId", "valid integer"),
        ("1.5", "products", "100000000", "targetStoreId", "valid integer"),
        ("2100", "orders", "100000000", "entity", "'products' or 'categories'"),
        ("2100", "PRODUCTS", "100000000", "entity", "'products' or 'categories'"),
        ("2100", "products", "abc", "sourceId", "pattern"),
        ("2100", "products", "-5", "sourceId", "pattern"),
        ("2100", "products", "1.5", "sourceId", "pattern"),
        ("2100", "products", "1" * 21, "sourceId", "pattern"),
    ],
)
def test_bad_store_mapping_lookup_is_400_naming_the_field(stack, store, entity, source_id, field, reason):
    status, answer = stack.api("GET", f"/stores/{store}/mappings/{entity}/{source_id}")

    assert status == 400, answer
    assert error_fields(answer) == [field]
    assert reason.lower() in reason_for(answer, field).lower()


# -- a clone without requestId while another runs -------------------------------------


def test_without_request_id_a_running_clone_is_found_and_another_one_is_409(stack, empty_target):
    request = {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "scope": "CATALOG"}
    names_before, jobs_before = execution_names(stack), job_count(stack)

    first_status, first = post(stack, request)
    same = post(stack, dict(request))
    other_scope = post(stack, {**request, "scope": "STORE_SETTINGS"})
    no_scope = post(stack, {key: value for key, value in request.items() if key != "scope"})
    other_source = post(stack, {**request, "sourceStoreId": OTHER_SOURCE})
    started = new_executions(stack, names_before)
    job = stack.wait_for_clone(first["cloneId"])

    assert first_status == 202
    assert same[0] == 200 and same[1]["cloneId"] == first["cloneId"]
    for status, answer in (other_scope, no_scope, other_source):
        assert status == 409, answer
        assert error_fields(answer) == ["targetStoreId"]
        assert first["cloneId"] in reason_for(answer, "targetStoreId")
    assert started == [first["cloneId"]]
    assert job_count(stack) - jobs_before == 1
    assert job["status"] == "COMPLETED"
    assert stack.sandbox.accepted_clones(empty_target) == 1


def test_with_a_new_request_id_another_clone_into_a_busy_target_is_409(stack, empty_target):
    running = clone_body(empty_target, sourceStoreId=TEMPLATE, scope="CATALOG")
    status, first = post(stack, running)
    assert status == 202
    names_before, jobs_before = execution_names(stack), job_count(stack)

    other_scope = post(stack, clone_body(empty_target, sourceStoreId=TEMPLATE, scope="STORE_SETTINGS"))
    other_source = post(stack, clone_body(empty_target, sourceStoreId=OTHER_SOURCE, scope="CATALOG"))
    started = new_executions(stack, names_before)
    jobs_added = job_count(stack) - jobs_before
    wait_all(stack, [first["cloneId"], *started])  # nothing left running when this test ends

    for status, answer in (other_scope, other_source):
        assert status == 409, answer
        assert error_fields(answer) == ["targetStoreId"]
    assert started == [] and jobs_added == 0
    assert stack.sandbox.accepted_clones(empty_target) == 1


# -- validation: every rule, nothing started --------------------------------------------

VALID = {"sourceStoreId": TEMPLATE, "targetStoreId": REFUSING_TARGET}
BAD_STORE_IDS = [  # (value, reason, test id)
    (0, "greater than 0", "0"),
    (-1, "greater than 0", "-1"),
    ("123", "valid integer", "string"),
    (1.5, "valid integer", "1.5"),
    (1003.5, "valid integer", "fraction"),
    (True, "valid integer", "true"),
    (None, "valid integer", "null"),
]
MERCHANT = {"email": "owner@example.com", "name": "Ann Owner"}
BAD_BODIES = [
    *[
        pytest.param({**VALID, field: value}, field, reason, id=f"{field}={name}")
        for field in ("sourceStoreId", "targetStoreId")
        for value, reason, name in BAD_STORE_IDS
        if (field, name) != ("targetStoreId", "null")
    ],
    # A null target is no target: one of targetStoreId and merchant is required.
    pytest.param({**VALID, "targetStoreId": None}, "targetStoreId", "required", id="targetStoreId=null"),
    pytest.param({**VALID, "merchant": MERCHANT}, "targetStoreId", "not both", id="target and merchant"),
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {**MERCHANT, "email": "owner.example.com"}},
        "merchant.email",
        "e-mail address",
        id="merchant email bad",
    ),
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {**MERCHANT, "password": "secret123"}},
        "merchant.password",
        "extra inputs",
        id="merchant password",
    ),
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {**MERCHANT, "name": "  "}},
        "merchant.name",
        "at least 1 character",
        id="merchant name blank",
    ),
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {**MERCHANT, "ip": "300.1.1.1"}},
        "merchant.ip",
        "ip",
        id="merchant ip bad",
    ),
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {**MERCHANT, "ip": False}},
        "merchant.ip",
        "must be a string",
        id="merchant ip false",
    ),
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {"email": "owner@example.com"}},
        "merchant.name",
        "required",
        id="merchant without name",
    ),
    pytest.param(
        {"sourceStoreId": REFUSING_TARGET, "targetStoreId": REFUSING_TARGET},
        "targetStoreId",
        "differ from sourceStoreId",
        id="target equals source",
    ),
    pytest.param({**VALID, "scope": "EVERYTHING"}, "scope", "'CATALOG' or 'STORE_SETTINGS'", id="scope unknown"),
    pytest.param({**VALID, "scope": "catalog"}, "scope", "'CATALOG' or 'STORE_SETTINGS'", id="scope lowercase"),
    pytest.param({**VALID, "scope": ""}, "scope", "'CATALOG' or 'STORE_SETTINGS'", id="scope empty"),
    pytest.param({**VALID, "scope": ["CATALOG"]}, "scope", "'CATALOG' or 'STORE_SETTINGS'", id="scope list"),
    pytest.param({**VALID, "cloneDemoCatalog": "true"}, "cloneDemoCatalog", "valid boolean", id="demo 'true' string"),
    pytest.param({**VALID, "cloneDemoCatalog": 1}, "cloneDemoCatalog", "valid boolean", id="demo 1"),
    pytest.param({**VALID, "cloneDemoCatalog": None}, "cloneDemoCatalog", "valid boolean", id="demo null"),
    pytest.param({**VALID, "storeId": 5}, "storeId", "extra inputs", id="unknown field"),
    pytest.param({**VALID, "requestid": "abc"}, "requestid", "extra inputs", id="misspelt requestId"),
    pytest.param({**VALID, "requestId": "has spaces"}, "requestId", "pattern", id="requestId spaces"),
    pytest.param({**VALID, "requestId": "x" * 129}, "requestId", "pattern", id="requestId 129 chars"),
    pytest.param({**VALID, "requestId": ""}, "requestId", "pattern", id="requestId empty"),
    pytest.param({**VALID, "requestId": "a/b"}, "requestId", "pattern", id="requestId slash"),
    pytest.param({**VALID, "requestId": "abc\n"}, "requestId", "pattern", id="requestId trailing newline"),
    pytest.param({**VALID, "requestId": 42}, "requestId", "valid string", id="requestId number"),
    pytest.param({"targetStoreId": REFUSING_TARGET}, "sourceStoreId", "required", id="missing sourceStoreId"),
    pytest.param({"sourceStoreId": TEMPLATE}, "targetStoreId", "required", id="missing targetStoreId"),
    pytest.param('{"sourceStoreId": 1003, "targetStoreId": ', "body", "json", id="invalid JSON"),
    pytest.param("sourceStoreId=1003&targetStoreId=3005", "body", "json", id="form-encoded body"),
    pytest.param([], "body", "dictionary", id="empty JSON array"),
    pytest.param(
        [VALID],
        "body",
        "dictionary",
        id="JSON array of a valid request",
    ),
    pytest.param('"a string"', "body", "dictionary", id="JSON string"),
    pytest.param(None, "body", "required", id="no body"),
    pytest.param({}, "sourceStoreId", "required", id="empty object"),
    *[
        pytest.param({**VALID, "profile": profile}, field, reason, id=f"profile {name}")
        for profile, field, reason, name in (
            ({}, "profile", "at least one field", "empty"),
            ({"company": {}}, "profile.company", "at least one field", "empty section"),
            ({"company": None}, "profile.company", "not be null", "null section"),
            ({"company": {"city": None}}, "profile.company.city", "not be null", "null field"),
            ({"company": {"fax": "+1 555"}}, "profile.company.fax", "extra inputs", "unknown field"),
            ({"account": {"accountEmail": "a@b.co"}}, "profile.account", "extra inputs", "unknown section"),
            ({"company": {"email": "shop.example.com"}}, "profile.company.email", "e-mail address", "email"),
            ({"company": {"countryCode": "XX"}}, "profile.company.countryCode", "ISO 3166-1", "country"),
            ({"company": {"countryCode": "us"}}, "profile.company.countryCode", "ISO 3166-1", "country lowercase"),
            ({"company": {"phone": "call me"}}, "profile.company.phone", "phone number", "phone"),
            (
                {"languages": {"defaultLanguage": "english"}},
                "profile.languages.defaultLanguage",
                "ISO 639-1",
                "language",
            ),
            ({"formatsAndUnits": {"timezone": "Mars/Base"}}, "profile.formatsAndUnits.timezone", "IANA", "time zone"),
            (
                {"mailNotifications": {"adminNotificationEmails": ["a@b.co", "b"]}},
                "profile.mailNotifications.adminNotificationEmails",
                "item 1: must be an e-mail",
                "notification e-mail",
            ),
            (
                {"mailNotifications": {"adminNotificationEmails": "a@b.co"}},
                "profile.mailNotifications.adminNotificationEmails",
                "valid list",
                "notification e-mails not a list",
            ),
            ({"settings": {"storeName": "   "}}, "profile.settings.storeName", "at least 1 character", "blank name"),
        )
    ],
    pytest.param(
        {"sourceStoreId": TEMPLATE, "merchant": {**MERCHANT, "storeName": ""}},
        "merchant.storeName",
        "at least 1 character",
        id="merchant storeName empty",
    ),
]


@pytest.mark.parametrize(("body", "field", "reason"), BAD_BODIES)
def test_bad_clone_request_is_400_naming_the_field_and_starts_nothing(stack, body, field, reason):
    names_before, jobs_before = execution_names(stack), job_count(stack)
    accepted_before = stack.sandbox.accepted_clones()

    status, answer = post(stack, body)
    started = new_executions(stack, names_before)
    wait_all(stack, started)  # a wrongly started clone must not outlive this test

    assert status == 400, answer
    if body == {}:
        assert error_fields(answer) == ["sourceStoreId", "targetStoreId"]
    else:
        assert error_fields(answer) == [field]  # one bad input, one named field
    assert reason.lower() in reason_for(answer, field).lower()
    assert started == []
    assert job_count(stack) == jobs_before
    assert stack.sandbox.accepted_clones() == accepted_before


def test_every_bad_field_is_named_at_once(stack):
    names_before = execution_names(stack)
    body = {
        "sourceStoreId": "1",
        "targetStoreId": 0,
        "scope": "ALL",
        "cloneDemoCatalog": "yes",
        "requestId": "a b",
        "extra": 1,
    }

    status, answer = post(stack, body)

    assert status == 400
    assert sorted(error_fields(answer)) == sorted(body)
    assert all(problem["reason"] for problem in answer["errors"])
    assert new_executions(stack, names_before) == []


def padded(body: dict, size: int) -> str:
    """``body`` as JSON, padded with whitespace to exactly ``size`` bytes."""
    text = json.dumps(body)
    return text[:-1] + " " * (size - len(text.encode())) + "}"


def test_a_body_over_the_limit_is_413_and_starts_nothing(stack, empty_target):
    from ecwid_cloner.api.clone_requests import MAX_BODY_BYTES

    names_before, jobs_before = execution_names(stack), job_count(stack)
    too_big = padded(clone_body(empty_target), MAX_BODY_BYTES + 1)

    status, answer = post(stack, too_big)

    assert status == 413
    assert error_fields(answer) == ["body"]
    assert str(MAX_BODY_BYTES) in reason_for(answer, "body")
    assert new_executions(stack, names_before) == [] and job_count(stack) == jobs_before
    assert stack.sandbox.accepted_clones(empty_target) == 0


def test_a_body_of_exactly_the_limit_is_read(stack):
    """The limit itself is allowed: such a body reaches validation (here it is refused for its content)."""
    from ecwid_cloner.api.clone_requests import MAX_BODY_BYTES

    names_before = execution_names(stack)
    body = padded({"sourceStoreId": REFUSING_TARGET, "targetStoreId": REFUSING_TARGET}, MAX_BODY_BYTES)
    assert len(body.encode()) == MAX_BODY_BYTES

    status, answer = post(stack, body)

    assert status == 400
    assert error_fields(answer) == ["targetStoreId"]
    assert new_executions(stack, names_before) == []
