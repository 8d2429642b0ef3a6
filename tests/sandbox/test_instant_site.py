"""The sandbox's Instant Site API over real HTTP: token, clone, errors, faults, rate limit, log."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from local.ecwid_sandbox import EcwidSandbox, Faults, SandboxConfig

JSON_TYPE = "application/json;charset=utf-8"
SOURCE, TARGET, OTHER = 1003, 2001, 2002


@pytest.fixture
def sbx():
    with EcwidSandbox(SandboxConfig()) as sandbox:
        yield sandbox


def token_call(sbx, site_id, code=None, grant_type="authorization_code", **kwargs):
    params = {"grant_type": grant_type, "site_id": site_id, "code": code}
    params = {k: v for k, v in params.items() if v is not None}
    return requests.post(f"{sbx.instant_site_base_url}/oauth/token", params=params, timeout=5, **kwargs)


def token(sbx, site_id) -> str:
    r = token_call(sbx, site_id, sbx.store_secret_token(site_id))
    assert r.status_code == 200, r.text
    return r.json()["accessToken"]


def clone_call(sbx, target, body, access_token=None, **kwargs):
    headers = {} if access_token is None else {"Authorization": f"Bearer {access_token}"}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    url = f"{sbx.instant_site_base_url}/{target}/clone"
    return requests.post(url, data=data, headers=headers, timeout=5, **kwargs)


def assert_refused(r, status, *words):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == JSON_TYPE
    body = r.json()
    assert list(body) == ["errorMessage"]
    for word in words:
        assert word in body["errorMessage"]


# ---- token ----------------------------------------------------------------------------


def test_token_for_the_store_secret(sbx):
    assert sbx.instant_site_base_url == sbx.root_url + "/instantsite/api/v1"
    secret = sbx.store_secret_token(TARGET)
    assert re.fullmatch(r"secret_2001_[0-9a-f]{16}", secret)
    r = token_call(sbx, TARGET, secret)
    assert r.status_code == 200 and r.headers["Content-Type"] == JSON_TYPE
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "bearer" and body["expiresIn"] == 3600
    assert len(body["accessToken"]) >= 32 and body["accessToken"] != token(sbx, TARGET)


def test_secret_tokens_are_per_store_and_seed():
    with EcwidSandbox(SandboxConfig(seed=1)) as a, EcwidSandbox(SandboxConfig(seed=1)) as b:
        assert a.store_secret_token(TARGET) == b.store_secret_token(TARGET)
        assert a.store_secret_token(TARGET) != a.store_secret_token(OTHER)
    with EcwidSandbox(SandboxConfig(seed=2)) as c:
        assert c.store_secret_token(TARGET) != a.store_secret_token(TARGET)
        with pytest.raises(KeyError):
            c.store_secret_token(9999)


def test_a_set_secret_token_and_the_admin_api(sbx):
    sbx.add_store(5001, secret_token="my-secret")
    assert sbx.store_secret_token(5001) == "my-secret"
    assert token_call(sbx, 5001, "my-secret").status_code == 200
    admin = sbx.admin_url
    r = requests.post(f"{admin}/stores", json={"storeId": 5002, "secret_token": "s-5002"}, timeout=5)
    assert r.status_code == 201 and "s-5002" not in r.text  # snapshots never show it
    assert r.json()["instantSite"] is None
    assert r.json()["instantSiteScopes"] == ["clone_stores", "manage_instant_site"]
    r = requests.get(f"{admin}/stores/5002/secret-token", timeout=5)
    assert r.json() == {"storeId": 5002, "secretToken": "s-5002"}
    assert requests.get(f"{admin}/stores/9999/secret-token", timeout=5).status_code == 404
    # One secret per store, and a bad one is refused.
    for taken_or_empty in ("s-5002", ""):
        r = requests.post(f"{admin}/stores", json={"storeId": 5003, "secret_token": taken_or_empty}, timeout=5)
        assert r.status_code == 400


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"site_id": "2001"}, "grant_type"),
        ({"grant_type": "client_credentials", "site_id": "2001"}, "grant_type"),
        ({"grant_type": "authorization_code"}, "site_id"),
        ({"grant_type": "authorization_code", "site_id": "abc"}, "site_id"),
        ({"grant_type": "authorization_code", "site_id": "0"}, "site_id"),
        ({"grant_type": "authorization_code", "site_id": "-5"}, "site_id"),
    ],
)
def test_token_bad_params_are_400_naming_the_param(sbx, params, param):
    params["code"] = sbx.store_secret_token(TARGET)
    r = requests.post(f"{sbx.instant_site_base_url}/oauth/token", params=params, timeout=5)
    assert_refused(r, 400, param)


@pytest.mark.parametrize("code", [None, "", "wrong", "other-store"])
def test_token_with_a_wrong_or_missing_code_is_401(sbx, code):
    if code == "other-store":
        code = sbx.store_secret_token(OTHER)
    params = {"grant_type": "authorization_code", "site_id": TARGET}
    if code is not None:
        params["code"] = code
    r = requests.post(f"{sbx.instant_site_base_url}/oauth/token", params=params, timeout=5)
    assert_refused(r, 401, "code")


def test_token_for_an_unknown_site_is_404(sbx):
    assert_refused(token_call(sbx, 9999, "whatever"), 404, "9999")


# ---- clone ------------------------------------------------------------------------------


def test_clone_records_draft_and_published(sbx):
    access = token(sbx, TARGET)
    assert sbx.store(TARGET)["instantSite"] is None
    r = clone_call(sbx, TARGET, {"source": SOURCE, "draft": True}, access)
    assert r.status_code == 200 and r.headers["Content-Type"] == JSON_TYPE
    assert r.json() == {"success": True, "draft": True, "source": SOURCE}
    assert sbx.store(TARGET)["instantSite"] == {"source": SOURCE, "draft": True, "published": False, "clones": 1}

    r = clone_call(sbx, TARGET, {"source": 1004, "draft": False, "extra": [1]}, access)  # extra fields are fine
    assert r.json() == {"success": True, "draft": False, "source": 1004}
    assert sbx.store(TARGET)["instantSite"] == {"source": 1004, "draft": False, "published": True, "clones": 2}
    assert sbx.store(SOURCE)["instantSite"] is None and sbx.store(OTHER)["instantSite"] is None
    assert sbx.accepted_clones() == 0  # not Clone Store API tickets
    assert sbx.stats()["instantSiteClones"] == {"2001": 2}


@pytest.mark.parametrize("case", ["none", "basic", "empty-bearer", "unknown", "other-store", "expired", "replaced"])
def test_clone_401_without_a_live_token_of_the_target(case):
    lifetime = 0 if case == "expired" else 3600
    with EcwidSandbox(SandboxConfig(instant_site_token_seconds=lifetime)) as sbx:
        url = f"{sbx.instant_site_base_url}/{TARGET}/clone"
        body = json.dumps({"source": SOURCE, "draft": True})
        headers = {
            "none": {},
            "basic": {"Authorization": f"Basic {token(sbx, TARGET)}"},
            "empty-bearer": {"Authorization": "Bearer "},
            "unknown": {"Authorization": "Bearer not-a-token"},
            "other-store": {"Authorization": f"Bearer {token(sbx, OTHER)}"},
            "expired": {"Authorization": f"Bearer {token(sbx, TARGET)}"},
            "replaced": {"Authorization": f"Bearer {token(sbx, TARGET)}"},
        }[case]
        if case == "replaced":
            sbx.add_store(TARGET)  # a reshaped store: its old tokens end
        r = requests.post(url, data=body, headers=headers, timeout=5)
        assert_refused(r, 401)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert sbx.store(TARGET)["instantSite"] is None


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [(["manage_instant_site"], "clone_stores"), (["clone_stores"], "manage_instant_site"), ([], "manage_instant_site")],
)
def test_clone_403_when_the_target_lacks_a_scope(sbx, scopes, missing):
    sbx.add_store(5001, instant_site_scopes=scopes)
    access = token(sbx, 5001)  # the token call itself does not check scopes
    assert_refused(clone_call(sbx, 5001, {"source": SOURCE, "draft": False}, access), 403, missing)
    # Auth comes first: no token is 401 even for a store without scopes.
    assert clone_call(sbx, 5001, {"source": SOURCE, "draft": False}).status_code == 401
    assert sbx.store(5001)["instantSite"] is None


def test_clone_404_for_an_unknown_source(sbx):
    access = token(sbx, TARGET)
    assert_refused(clone_call(sbx, TARGET, {"source": 9999, "draft": True}, access), 404, "9999")
    assert sbx.store(TARGET)["instantSite"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "JSON"),
        (b"", "JSON"),
        ([SOURCE, True], "JSON object"),
        ({"draft": True}, "source"),
        ({"source": "1003", "draft": True}, "source"),
        ({"source": 0, "draft": True}, "source"),
        ({"source": -5, "draft": True}, "source"),
        ({"source": 1003.0, "draft": True}, "source"),
        ({"source": True, "draft": True}, "source"),
        ({"source": SOURCE}, "draft"),
        ({"source": SOURCE, "draft": "true"}, "draft"),
        ({"source": SOURCE, "draft": 1}, "draft"),
        ({"source": SOURCE, "draft": None}, "draft"),
        # A bad body beats an unknown source.
        ({"source": 9999, "draft": "no"}, "draft"),
    ],
)
def test_clone_400_for_a_bad_body(sbx, body, field):
    assert_refused(clone_call(sbx, TARGET, body, token(sbx, TARGET)), 400, field)
    assert sbx.store(TARGET)["instantSite"] is None


def test_unknown_instant_site_routes_are_404(sbx):
    base = sbx.instant_site_base_url
    for method, path in [("GET", "/oauth/token"), ("GET", "/2001/clone"), ("POST", "/abc/clone"), ("POST", "/2001")]:
        r = requests.request(method, base + path, timeout=5)
        assert_refused(r, 404, "Resource not found")


# ---- faults and rate limit ------------------------------------------------------------------


def test_5xx_and_malformed_faults_hit_both_calls(sbx):
    access = token(sbx, TARGET)
    sbx.faults.instant_site.error_5xx_rate = 1.0
    for r in (token_call(sbx, TARGET, sbx.store_secret_token(TARGET)), clone_call(sbx, TARGET, {}, access)):
        assert r.status_code in (500, 502, 503)
        with pytest.raises(ValueError):
            r.json()
    sbx.faults.instant_site.error_5xx_rate = 0.0
    sbx.faults.instant_site.malformed_rate = 1.0
    for r in (token_call(sbx, TARGET, sbx.store_secret_token(TARGET)), clone_call(sbx, TARGET, {}, access)):
        assert r.status_code == 200
        with pytest.raises(ValueError):
            json.loads(r.text)
    assert sbx.faults.counts == {"instant_site.5xx": 2, "instant_site.malformed": 2}
    assert sbx.store(TARGET)["instantSite"] is None


def test_429_fault_with_and_without_retry_after(sbx):
    access = token(sbx, TARGET)
    sbx.faults.instant_site.rate_429 = 1.0
    sbx.faults.instant_site.retry_after_seconds = 4
    r = clone_call(sbx, TARGET, {"source": SOURCE, "draft": True}, access)
    assert r.status_code == 429 and r.headers["Retry-After"] == "4"
    sbx.faults.instant_site.retry_after_seconds = None
    r = token_call(sbx, TARGET, sbx.store_secret_token(TARGET))
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert sbx.faults.counts == {"instant_site.429": 2} and sbx.store(TARGET)["instantSite"] is None


def test_slow_and_drop_faults(sbx):
    access = token(sbx, TARGET)
    sbx.faults.instant_site.slow_rate = 1.0
    sbx.faults.instant_site.slow_seconds = 0.2
    t0 = time.monotonic()
    assert clone_call(sbx, TARGET, {"source": SOURCE, "draft": True}, access).status_code == 200  # slow, then normal
    assert time.monotonic() - t0 >= 0.2
    sbx.faults.instant_site.slow_rate = 0.0
    sbx.faults.instant_site.drop_rate = 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        token_call(sbx, TARGET, sbx.store_secret_token(TARGET))
    assert sbx.request_log()[-1]["status"] is None
    assert sbx.faults.counts == {"instant_site.slow": 1, "instant_site.drop": 1}
    assert sbx.store(TARGET)["instantSite"]["clones"] == 1


def test_instant_site_faults_are_their_own(sbx):
    sbx.faults.post.error_5xx_rate = sbx.faults.get.error_5xx_rate = 1.0
    assert token_call(sbx, TARGET, sbx.store_secret_token(TARGET)).status_code == 200
    admin = sbx.admin_url
    r = requests.put(f"{admin}/faults", json={"reset": True, "instant_site": {"rate_429": 1.0}}, timeout=5)
    assert r.status_code == 200
    assert r.json()["instant_site"]["rate_429"] == 1.0 and r.json()["post"]["error_5xx_rate"] == 0
    assert token_call(sbx, TARGET, sbx.store_secret_token(TARGET)).status_code == 429
    assert requests.put(f"{admin}/faults", json={"instant_site": {"nope": 1}}, timeout=5).status_code == 400
    r = requests.put(f"{admin}/faults", json={"instant_site": {"error_codes": ["UNKNOWN_INTERNAL_ERROR"]}}, timeout=5)
    assert r.status_code == 400
    assert requests.get(f"{admin}/stats", timeout=5).json()["faultCounts"] == {"instant_site.429": 1}
    sbx.faults.reset()
    assert sbx.faults.instant_site == Faults().instant_site and sbx.faults.counts == {}
    assert token_call(sbx, TARGET, sbx.store_secret_token(TARGET)).status_code == 200


def test_rate_limit_is_the_apps_across_both_apis(sbx):
    sbx.config.rate_limit_per_minute = 2
    access = token(sbx, TARGET)
    assert clone_call(sbx, TARGET, {"source": SOURCE, "draft": True}, access).status_code == 200
    r = clone_call(sbx, TARGET, {"source": SOURCE, "draft": True}, access)
    assert r.status_code == 429 and r.json() == {"errorMessage": "Too many requests"}
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another store's calls and the Clone Store API count against the same app.
    assert token_call(sbx, OTHER, sbx.store_secret_token(OTHER)).status_code == 429
    clone_api = requests.get(
        f"{sbx.base_url}/stores/clone",
        params={"ticket": "x"},
        timeout=5,
        headers={"X-Ecwid-App-Client-Id": sbx.config.client_id, "X-Ecwid-App-Secret-Key": sbx.config.client_secret},
    )
    assert clone_api.status_code == 429
    assert sbx.stats()["rateLimited"] == 3 and sbx.store(TARGET)["instantSite"]["clones"] == 1
    assert sbx.peak_requests_per_minute() == 2


# ---- the request log ---------------------------------------------------------------------------


def test_request_log_never_holds_a_secret_token_or_an_access_token(sbx, capsys):
    sbx.log_to_stderr = True
    secret, other_secret = sbx.store_secret_token(TARGET), sbx.store_secret_token(OTHER)
    access = token(sbx, TARGET)
    clone_call(sbx, TARGET, {"source": SOURCE, "draft": True}, access)
    token_call(sbx, TARGET, "wrong-code-never-logged")
    token_call(sbx, TARGET, other_secret)
    # Pasted where they do not belong, they are redacted as well.
    requests.get(f"{sbx.base_url}/stores/clone", params={"ticket": access}, timeout=5)
    requests.get(f"{sbx.base_url}/stores/clone", params={"ticket": secret}, timeout=5)
    requests.get(f"{sbx.base_url}/stores/clone", headers={"X-Ecwid-App-Client-Id": access}, timeout=5)
    clone_call(sbx, OTHER, {"source": SOURCE, "draft": True}, access)
    log = sbx.request_log()
    assert [e["status"] for e in log] == [200, 200, 401, 401, 403, 403, 403, 401]
    assert log[0]["path"] == "/instantsite/api/v1/oauth/token"
    assert log[0]["query"] == {"grant_type": "authorization_code", "site_id": "2001", "code": "***"}
    assert log[1]["path"] == "/instantsite/api/v1/2001/clone" and log[1]["query"] == {}
    assert log[2]["query"]["code"] == "***"
    assert log[4]["query"] == {"ticket": "***"} and log[5]["query"] == {"ticket": "***"}
    assert log[6]["clientId"] == "***"
    stderr = capsys.readouterr().err
    assert "/instantsite/api/v1/oauth/token?grant_type=authorization_code&site_id=2001&code=***" in stderr
    for text in (json.dumps(log), stderr):
        for credential in (secret, other_secret, access, "wrong-code-never-logged"):
            assert credential not in text
