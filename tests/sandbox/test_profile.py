"""The sandbox's store profiles over real HTTP: GET/PUT /api/v3/{storeId}/profile with the
store's token, what a clone with settings copies, and the Instant Site's own profile."""

from __future__ import annotations

import time

import pytest
import requests

from local.ecwid_sandbox import EcwidSandbox, SandboxConfig

TEMPLATE, TARGET = 1003, 2001


@pytest.fixture
def sbx():
    with EcwidSandbox(SandboxConfig(queued_seconds=0.05, clone_seconds=0.2)) as sandbox:
        yield sandbox


def get(sbx, store_id, token):
    return requests.get(f"{sbx.base_url}/{store_id}/profile", headers=bearer(token), timeout=5)


def put(sbx, store_id, token, body):
    return requests.put(f"{sbx.base_url}/{store_id}/profile", json=body, headers=bearer(token), timeout=5)


def bearer(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def clone(sbx, source, target, scope=None):
    params = {"sourceStoreId": source, "targetStoreId": target, **({"scope": scope} if scope else {})}
    headers = {"X-Ecwid-App-Client-Id": sbx.config.client_id, "X-Ecwid-App-Secret-Key": sbx.config.client_secret}
    ticket = requests.post(f"{sbx.base_url}/stores/clone", params=params, headers=headers, timeout=5).json()["ticket"]
    for _ in range(100):
        answer = requests.get(f"{sbx.base_url}/stores/clone", params={"ticket": ticket}, headers=headers, timeout=5)
        if answer.json()["status"] == "COMPLETED":
            return
        time.sleep(0.05)
    raise AssertionError("the clone did not complete")


def test_the_template_has_a_profile_of_its_own(sbx):
    answer = get(sbx, TEMPLATE, sbx.store_secret_token(TEMPLATE))
    assert answer.status_code == 200
    profile = answer.json()
    assert profile["settings"]["storeName"] == "Template Bakery Co."
    assert profile["company"]["email"] == "hello@template.example"
    assert profile["mailNotifications"]["adminNotificationEmails"] == [
        "orders@template.example",
        "owner@template.example",
    ]
    # Every field the personalization owns differs from a fresh store's.
    fresh = get(sbx, TARGET, sbx.store_secret_token(TARGET)).json()
    for section in ("settings", "company", "mailNotifications"):
        assert profile[section] != fresh[section]


def test_a_put_changes_only_the_fields_it_names(sbx):
    token = sbx.store_secret_token(TARGET)
    before = get(sbx, TARGET, token).json()
    answer = put(sbx, TARGET, token, {"settings": {"storeName": "Ann's Bakery"}, "company": {"city": "Lyon"}})
    assert (answer.status_code, answer.json()) == (200, {"updateCount": 1})
    after = get(sbx, TARGET, token).json()
    assert after["settings"]["storeName"] == "Ann's Bakery" and after["company"]["city"] == "Lyon"
    assert after["company"]["email"] == before["company"]["email"]
    assert after["mailNotifications"] == before["mailNotifications"]


@pytest.mark.parametrize(
    ("token", "status", "words"),
    [
        (None, 401, "missing or invalid"),
        ("secret_not_this_stores", 401, "missing or invalid"),
    ],
)
def test_a_token_that_is_not_the_stores_is_401(sbx, token, status, words):
    for answer in (get(sbx, TARGET, token), put(sbx, TARGET, token, {"settings": {"storeName": "x"}})):
        assert answer.status_code == status and words in answer.json()["errorMessage"]
    # Another store's own token is not this store's.
    assert put(sbx, TARGET, sbx.store_secret_token(TEMPLATE), {"settings": {"storeName": "x"}}).status_code == 401


def test_without_the_scope_the_store_token_is_refused_403(sbx):
    sbx.add_store(2299, rest_scopes=["read_store_profile"])
    token = sbx.store_secret_token(2299)
    assert get(sbx, 2299, token).status_code == 200
    answer = put(sbx, 2299, token, {"settings": {"storeName": "x"}})
    assert answer.status_code == 403 and "update_store_profile" in answer.json()["errorMessage"]
    assert get(sbx, 404404, token).status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"company": {"email": "not-an-email"}}, "company.email"),
        ({"company": {"countryCode": "usa"}}, "company.countryCode"),
        ({"mailNotifications": {"adminNotificationEmails": "a@b.co"}}, "list of strings"),
        ({"company": "Acme"}, "must be an object"),
        ({"settings": {"storeName": 7}}, "must be a string"),
        ({"company": {"fax": "1"}}, "Unknown field company.fax"),
    ],
)
def test_a_bad_field_is_400_and_changes_nothing(sbx, body, words):
    token = sbx.store_secret_token(TARGET)
    before = get(sbx, TARGET, token).json()
    answer = put(sbx, TARGET, token, {"settings": {"storeName": "changed?"}, **body})
    assert answer.status_code == 400 and words in answer.json()["errorMessage"]
    assert get(sbx, TARGET, token).json() == before


def test_a_body_that_is_not_json_is_refused(sbx):
    url = f"{sbx.base_url}/{TARGET}/profile"
    headers = bearer(sbx.store_secret_token(TARGET))
    assert (
        requests.put(url, data="{", headers={**headers, "Content-Type": "application/json"}, timeout=5).status_code
        == 400
    )
    assert requests.put(url, data="storeName=x", headers=headers, timeout=5).status_code == 415


@pytest.mark.parametrize(("scope", "copied"), [(None, True), ("STORE_SETTINGS", True), ("CATALOG", False)])
def test_a_clone_with_settings_copies_the_templates_profile_but_not_the_owner(sbx, scope, copied):
    token = sbx.store_secret_token(TARGET)
    fresh = get(sbx, TARGET, token).json()
    clone(sbx, TEMPLATE, TARGET, scope)
    profile = get(sbx, TARGET, token).json()
    template = get(sbx, TEMPLATE, sbx.store_secret_token(TEMPLATE)).json()
    for section in ("settings", "company", "mailNotifications", "formatsAndUnits", "languages"):
        assert profile[section] == (template if copied else fresh)[section], section
    assert profile["account"] == fresh["account"] and profile["generalInfo"]["storeId"] == TARGET


def test_the_profile_faults_and_rate_limit_apply(sbx):
    token = sbx.store_secret_token(TARGET)
    sbx.faults.profile.error_5xx_rate = 1.0
    assert put(sbx, TARGET, token, {"settings": {"storeName": "x"}}).status_code in (500, 502, 503)
    sbx.faults.profile.error_5xx_rate = 0.0
    sbx.faults.profile.rate_429 = 1.0
    answer = put(sbx, TARGET, token, {"settings": {"storeName": "x"}})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    assert sbx.faults.counts == {"profile.5xx": 1, "profile.429": 1}


def test_the_store_token_is_never_logged(sbx):
    token = sbx.store_secret_token(TARGET)
    put(sbx, TARGET, token, {"settings": {"storeName": "x"}})
    assert token not in repr(sbx.request_log())


def site_token(sbx, store_id):
    params = {"grant_type": "authorization_code", "site_id": store_id, "code": sbx.store_secret_token(store_id)}
    return requests.post(f"{sbx.instant_site_base_url}/oauth/token", params=params, timeout=5).json()["accessToken"]


def test_a_site_clone_copies_the_template_sites_profile_and_its_put_changes_it(sbx):
    access = site_token(sbx, TARGET)
    url = f"{sbx.instant_site_base_url}/{TARGET}"
    headers = bearer(access)
    assert requests.post(f"{url}/clone", json={"source": TEMPLATE, "draft": True}, headers=headers, timeout=5).ok
    site = sbx.store(TARGET)["siteProfile"]
    assert site == sbx.store(TEMPLATE)["siteProfile"] and site["storeName"].startswith("Template Bakery Co.")

    answer = requests.put(
        f"{url}/profile", json={"storeName": "Ann's Bakery", "email": "ann@example.com"}, headers=headers, timeout=5
    )
    assert answer.status_code == 200
    site = sbx.store(TARGET)["siteProfile"]
    assert (site["storeName"], site["email"], site["locale"]) == ("Ann's Bakery", "ann@example.com", "en")
    # Another store's access token, or a bad e-mail: refused.
    other = bearer(site_token(sbx, 2002))
    assert requests.put(f"{url}/profile", json={"storeName": "x"}, headers=other, timeout=5).status_code == 401
    bad = requests.put(f"{url}/profile", json={"email": "nope"}, headers=headers, timeout=5)
    assert bad.status_code == 400 and sbx.store(TARGET)["siteProfile"]["email"] == "ann@example.com"
