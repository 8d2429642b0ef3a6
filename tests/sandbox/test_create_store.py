"""The sandbox's store creation (POST /api/v3/stores, GET /api/v3/stores?email=) over real HTTP."""

from __future__ import annotations

import json

import pytest
import requests

from local.ecwid_sandbox import EcwidSandbox, SandboxConfig

MERCHANT = {"email": "ann@example.com", "name": "Ann Owner"}


@pytest.fixture
def sbx():
    with EcwidSandbox(SandboxConfig()) as sandbox:
        yield sandbox


def app_headers(sbx) -> dict[str, str]:
    return {"X-Ecwid-App-Client-Id": sbx.config.client_id, "X-Ecwid-App-Secret-Key": sbx.config.client_secret}


def create(sbx, body, *, token=True, headers=None) -> requests.Response:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(
        f"{sbx.base_url}/stores",
        params={"returnApiToken": "true"} if token else {},
        data=data,
        headers={"Content-Type": "application/json", **(app_headers(sbx) if headers is None else headers)},
        timeout=5,
    )


def test_a_new_store_is_an_empty_clone_target_with_its_own_token(sbx):
    answer = create(sbx, {"merchant": {**MERCHANT, "ip": "203.0.113.9"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"id", "token"} and isinstance(body["id"], int)
    store = sbx.store(body["id"])
    assert store["products"] == [] and store["categories"] == [] and store["demoProducts"], "sample items only"
    assert store["owner"] == {**MERCHANT, "ip": "203.0.113.9"}
    assert sbx.store_secret_token(body["id"]) == body["token"]
    # The token is that store's secret token: the Instant Site token exchange takes it.
    exchange = requests.post(
        f"{sbx.instant_site_base_url}/oauth/token",
        params={"grant_type": "authorization_code", "site_id": body["id"], "code": body["token"]},
        timeout=5,
    )
    assert exchange.status_code == 200
    assert sbx.created_stores(MERCHANT["email"]) == [body["id"]]


def test_the_token_comes_only_when_asked_for(sbx):
    body = create(sbx, {"merchant": MERCHANT}, token=False).json()
    assert set(body) == {"id"}


def test_an_email_that_has_a_store_is_409_in_any_case(sbx):
    assert create(sbx, {"merchant": MERCHANT}).status_code == 200
    again = create(sbx, {"merchant": {**MERCHANT, "email": MERCHANT["email"].upper()}})
    assert again.status_code == 409 and again.json()["errorCode"] == "EMAIL_ALREADY_EXISTS"
    assert len(sbx.created_stores()) == 1


def test_taken_emails_are_seen_but_not_which_store_has_them(sbx):
    def lookup(email):
        return requests.get(f"{sbx.base_url}/stores", params={"email": email}, headers=app_headers(sbx), timeout=5)

    assert lookup(MERCHANT["email"]).status_code == 404
    create(sbx, {"merchant": MERCHANT})
    taken = lookup(MERCHANT["email"])
    assert taken.status_code == 200 and taken.json() == {}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"merchant": {**MERCHANT, "email": "not-an-email"}}, "e-mail"),
        ({"merchant": {"email": "x@example.com"}}, "name"),
        ({"merchant": {**MERCHANT, "password": "12345"}}, "password"),
        ({"owner": MERCHANT}, "merchant"),
        ("{not json", "JSON"),
    ],
)
def test_a_bad_body_is_400_with_a_message(sbx, body, words):
    answer = create(sbx, body)
    assert answer.status_code == 400 and words in answer.json()["errorMessage"]
    assert sbx.created_stores() == []


def test_the_app_needs_its_credentials_its_scope_and_a_plan_that_allows_it(sbx):
    assert create(sbx, {"merchant": MERCHANT}, headers={}).status_code == 403
    sbx.config.app_scopes = ("read_stores",)
    refused = create(sbx, {"merchant": MERCHANT})
    assert refused.status_code == 403 and "create_stores" in refused.json()["errorMessage"]
    sbx.config.app_scopes = ("create_stores", "read_stores")
    sbx.config.store_creation_allowed = False
    assert create(sbx, {"merchant": MERCHANT}).status_code == 402
    assert sbx.created_stores() == []


def test_a_lost_answer_makes_the_store_and_answers_nothing(sbx):
    sbx.faults.create_store.answer_lost_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        create(sbx, {"merchant": MERCHANT})
    assert len(sbx.created_stores(MERCHANT["email"])) == 1
    sbx.faults.create_store.answer_lost_rate = 0.0
    assert create(sbx, {"merchant": MERCHANT}).status_code == 409, "the retry meets the store it made"
    assert sbx.stats()["faultCounts"] == {"create_store.answer_lost": 1}


def test_store_creation_counts_against_the_apps_rate_limit(sbx):
    sbx.config.rate_limit_per_minute = 1
    assert create(sbx, {"merchant": MERCHANT}).status_code == 200
    limited = create(sbx, {"merchant": {**MERCHANT, "email": "bob@example.com"}})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_lost_answers_are_a_create_store_fault_only(sbx):
    with pytest.raises(ValueError, match="create_store only"):
        sbx.faults.update({"post": {"answer_lost_rate": 1.0}})
    sbx.faults.update({"create_store": {"answer_lost_rate": 0.5, "error_5xx_rate": 0.1}})
    assert sbx.faults.create_store.answer_lost_rate == 0.5
