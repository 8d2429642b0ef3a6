"""The Instant Site client (against `responses`)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from ecwid_cloner.ecwid import transport as ecwid_client
from ecwid_cloner.ecwid.instant_site import InstantSiteClient
from ecwid_cloner.errors import EcwidRateLimitedError, EcwidRetryableError, EcwidTerminalError

BASE = "https://vuega.example/api/v1"
SECRET_TOKEN = "secret_9001_do_not_log"


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> InstantSiteClient:
    return InstantSiteClient(BASE + "/")


def test_token_is_asked_for_the_target_with_its_secret_token(api, client):
    api.post(f"{BASE}/oauth/token", json={"accessToken": "tok-1", "tokenType": "bearer", "expiresIn": 3600})

    assert client.access_token(9001, SECRET_TOKEN) == "tok-1"
    sent = api.calls[0].request
    assert (
        "grant_type=authorization_code" in sent.url
        and "site_id=9001" in sent.url
        and f"code={SECRET_TOKEN}" in sent.url
    )


def test_clone_posts_source_and_draft_with_the_bearer_token(api, client):
    api.post(f"{BASE}/9001/clone", json={"anything": "kept"})

    assert client.clone(9001, 1003, True, "tok-1") == {"anything": "kept"}
    sent = api.calls[0].request
    assert json.loads(sent.body) == {"source": 1003, "draft": True}
    assert sent.headers["Authorization"] == "Bearer tok-1"


def test_a_2xx_with_no_json_body_is_success(api, client):
    api.post(f"{BASE}/9001/clone", body="", status=204)
    assert client.clone(9001, 1003, False, "tok") == {"status": 204}


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_terminal_and_name_the_status(api, client, status):
    api.post(f"{BASE}/9001/clone", json={"errorMessage": "no"}, status=status)
    with pytest.raises(EcwidTerminalError) as caught:
        client.clone(9001, 1003, True, "tok")
    assert caught.value.code == f"INSTANT_SITE_HTTP_{status}" and "no" in caught.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(api, client, status):
    api.post(f"{BASE}/oauth/token", body="<html>down</html>", status=status)
    with pytest.raises(EcwidRetryableError) as caught:
        client.access_token(9001, SECRET_TOKEN)
    assert caught.value.code == f"INSTANT_SITE_HTTP_{status}"
    assert SECRET_TOKEN not in str(caught.value)


def test_a_token_answer_without_token_is_retryable(api, client):
    api.post(f"{BASE}/oauth/token", body="not json")
    with pytest.raises(EcwidRetryableError):
        client.access_token(9001, SECRET_TOKEN)


def test_rate_limit_and_network_errors_are_retryable(api, client, monkeypatch):
    monkeypatch.setattr(ecwid_client.time, "sleep", lambda seconds: None)
    api.post(f"{BASE}/9001/clone", status=429, headers={"Retry-After": "60"})
    with pytest.raises(EcwidRateLimitedError) as caught:
        client.clone(9001, 1003, True, "tok")
    assert caught.value.retry_after == 60
    api.replace(responses.POST, f"{BASE}/9001/clone", body=requests.ConnectionError("refused"))
    with pytest.raises(EcwidRetryableError) as network:
        client.clone(9001, 1003, True, "tok")
    assert network.value.code == "CONNECTION_ERROR"


def test_the_sites_profile_is_put_with_the_sites_token_and_only_the_fields_given(api, client):
    api.put(f"{BASE}/9001/profile", json={"success": True})

    assert client.update_profile(9001, {"storeName": "Ann's Bakery", "email": "ann@example.com"}, "tok-1") == {
        "success": True
    }
    sent = api.calls[0].request
    assert json.loads(sent.body) == {"storeName": "Ann's Bakery", "email": "ann@example.com"}
    assert sent.headers["Authorization"] == "Bearer tok-1"


@pytest.mark.parametrize(("status", "error"), [(403, EcwidTerminalError), (502, EcwidRetryableError)])
def test_a_refused_site_profile_names_the_call(api, client, status, error):
    api.put(f"{BASE}/9001/profile", json={"errorMessage": "nope"}, status=status)
    with pytest.raises(error) as raised:
        client.update_profile(9001, {"storeName": "S"}, "tok-1")
    assert raised.value.code == f"INSTANT_SITE_HTTP_{status}" and raised.value.message == "Instant Site profile: nope"
