"""The deployed mode, shown against the local API with SigV4 verification on: `python -m local api
--verify-sigv4` refuses what is not signed by the test credentials, and `python -m console
--sigv4`, holding them, gets the page's requests through; the page never sees a credential."""

from __future__ import annotations

import os
import time

import pytest
import requests

from local.sigv4 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from tests.servers import serve, stop


def operator_env(secret: str = TEST_SECRET_ACCESS_KEY) -> dict[str, str]:
    """The operator's shell: their own AWS credentials, nothing else of AWS's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return env | {
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@pytest.fixture(scope="module")
def signed_api():
    process, drain, url = serve(
        ["local", "api", "--port", "0", "--verify-sigv4", "--sandbox-clone-seconds", "2"],
        r"API on (http://127\.0\.0\.1:\d+/v1) .*SigV4 verified",
    )
    yield url
    stop(process, drain)


@pytest.fixture(scope="module")
def operator_console(signed_api):
    process, drain, url = serve(
        ["console", "--api-url", signed_api, "--sigv4", "--port", "0"],
        r"console on (http://127\.0\.0\.1:\d+/)",
        env=operator_env(),
    )
    yield url
    stop(process, drain)


def test_the_api_refuses_a_request_without_a_valid_signature(signed_api):
    answer = requests.get(f"{signed_api}/campaign", timeout=30)
    assert answer.status_code == 403 and answer.json() == {"message": "Missing Authentication Token"}
    forged = requests.get(
        f"{signed_api}/campaign",
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY_ID}/20261128/us-east-1/execute-api/"
            f"aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        },
        timeout=30,
    )
    assert forged.status_code == 403 and forged.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_the_signing_proxy_gets_the_pages_requests_through(operator_console):
    page = requests.get(operator_console, timeout=30)
    assert page.status_code == 200 and "store-cloner console" in page.text
    assert requests.get(f"{operator_console}config.json", timeout=30).json()["auth"] == "SigV4"

    campaign = requests.get(f"{operator_console}v1/campaign?since=2026-01-01T00:00:00Z", timeout=30)
    assert campaign.status_code == 200 and set(campaign.json()) >= {"counts", "slots", "budget", "drain"}
    # A signed body: a clone started through the proxy, and read back through it.
    started = requests.post(
        f"{operator_console}v1/clones",
        json={"sourceStoreId": 1003, "targetStoreId": 2001, "scope": "CATALOG"},
        timeout=30,
    )
    assert started.status_code == 202, started.text
    clone = requests.get(f"{operator_console}v1/clones/{started.json()['cloneId']}", timeout=30)
    assert clone.status_code == 200 and clone.json()["targetStoreId"] == 2001
    # Nothing of the signature comes back to the page.
    for answer in (page, campaign, started, clone):
        sent_back = " ".join(f"{k}: {v}" for k, v in answer.headers.items()) + answer.text
        assert TEST_SECRET_ACCESS_KEY not in sent_back and TEST_ACCESS_KEY_ID not in sent_back
        assert not {"authorization", "x-amz-date", "x-amz-security-token"} & {k.lower() for k in answer.headers}


def test_the_proxy_answers_only_its_own_address(operator_console):
    port = operator_console.rstrip("/").rsplit(":", 1)[1]
    rebound = requests.get(f"{operator_console}v1/campaign", headers={"Host": f"evil.example:{port}"}, timeout=30)
    assert rebound.status_code == 403
    cross_site = requests.post(
        f"{operator_console}v1/clones/bulk",
        json={"action": "cancel", "filter": {"status": "WAITING"}},
        headers={"Origin": "http://evil.example"},
        timeout=30,
    )
    assert cross_site.status_code == 403


def test_a_proxy_with_the_wrong_secret_is_refused_by_the_api(signed_api):
    process, drain, url = serve(
        ["console", "--api-url", signed_api, "--sigv4", "--port", "0"],
        r"console on (http://127\.0\.0\.1:\d+/)",
        env=operator_env(secret="not-the-operators-secret"),
    )
    try:
        answer = requests.get(f"{url}v1/campaign", timeout=30)
    finally:
        stop(process, drain)
    assert answer.status_code == 403 and "signature we calculated does not match" in answer.json()["message"]
