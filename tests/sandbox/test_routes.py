"""How the sandbox routes a request to the API that serves it, before that API's gateway."""

from __future__ import annotations

import pytest
import requests

from local.ecwid_sandbox import EcwidSandbox, SandboxConfig

KEY = "partner-key-routes"
ALL_FAULTED = {"error_5xx_rate": 1.0}


@pytest.fixture
def sbx():
    with EcwidSandbox(SandboxConfig(reseller_key=KEY)) as sandbox:
        yield sandbox


def app_headers(sbx) -> dict[str, str]:
    return {"X-Ecwid-App-Client-Id": sbx.config.client_id, "X-Ecwid-App-Secret-Key": sbx.config.client_secret}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v3/stores/clone"),  # the Clone Store API: GET and POST only
        ("PUT", "/api/v3/stores"),  # store creation: GET and POST only
        ("DELETE", "/api/v3/2001/profile"),  # the store profile: GET and PUT only
        ("POST", "/api/v3/2001/profile"),
        ("GET", "/instantsite/api/v1/2001/profile"),  # the Instant Site profile: PUT only
        ("PUT", "/instantsite/api/v1/2001/clone"),  # the Instant Site clone: POST only
        ("GET", "/_sandbox"),  # the admin API lives below /_sandbox/
    ],
)
def test_a_method_an_api_does_not_serve_is_404_before_any_fault(sbx, method, path):
    # Every endpoint's faults on: a request no API takes never reaches a gateway.
    sbx.faults.update({name: ALL_FAULTED for name in ("post", "get", "create_store", "profile", "instant_site")})

    answer = requests.request(method, sbx.root_url + path, headers=app_headers(sbx), timeout=5)

    assert answer.status_code == 404, answer.text
    assert answer.json() == {"errorMessage": f"Resource not found: {method} {path}"}
    assert sbx.faults.counts == {}
    entry = sbx.request_log()[-1]
    assert (entry["method"], entry["path"], entry["status"], entry["fault"]) == (method, path, 404, None)


def test_a_suspended_stores_own_calls_are_402_whatever_they_ask_and_draw_no_fault(sbx):
    created = requests.post(
        f"{sbx.base_url}/stores",
        json={"merchant": {"email": "ann@example.com", "name": "Ann"}},
        headers=app_headers(sbx),
        timeout=5,
    )
    store = created.json()["id"]
    token = sbx.store_secret_token(store)
    assert requests.post(f"{sbx.reseller_base_url}/suspend", data={"key": KEY, "ownerid": store}, timeout=5).ok
    sbx.faults.update({"profile": ALL_FAULTED})

    for method, rest in [("GET", "/profile"), ("PUT", "/profile"), ("GET", "/products"), ("DELETE", "")]:
        answer = requests.request(
            method, f"{sbx.base_url}/{store}{rest}", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert answer.status_code == 402, (method, rest, answer.text)
        assert answer.json() == {"errorMessage": f"Store #{store} is suspended"}
        assert sbx.request_log()[-1]["storeId"] == store
    # The token in the query counts as the store's own too.
    assert requests.get(f"{sbx.base_url}/{store}/profile", params={"token": token}, timeout=5).status_code == 402
    assert sbx.faults.counts == {}
    # Another token is the profile API's to answer, through its faults.
    other = requests.get(f"{sbx.base_url}/{store}/profile", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert other.status_code in (500, 502, 503) and sbx.faults.counts == {"profile.5xx": 1}
