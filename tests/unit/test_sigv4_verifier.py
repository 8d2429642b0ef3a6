"""The local API's SigV4 check (python -m local api --verify-sigv4): requests signed by botocore
with the known test credentials pass; anything else gets API Gateway's 403."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.sigv4 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, SigV4Verifier

URL = "http://127.0.0.1:8080/v1/clones?status=FAILED&since=2026-11-28T00%3A00%3A00Z"
BODY = json.dumps({"sourceStoreId": 1003, "targetStoreId": 2001}).encode()


def signed(
    method: str = "POST",
    url: str = URL,
    body: bytes | None = BODY,
    key: str = TEST_ACCESS_KEY_ID,
    secret: str = TEST_SECRET_ACCESS_KEY,
    region: str = "us-east-1",
    service: str = "execute-api",
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return {**dict(request.headers.items()), "Host": "127.0.0.1:8080"}


def signed_at(request_headers: dict[str, str]) -> float:
    return datetime.strptime(request_headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def refused(verifier: SigV4Verifier, headers: dict[str, str], method="POST", url=URL, body=BODY) -> str | None:
    answer = verifier.refusal(method, url, headers, body)
    if answer is None:
        return None
    assert answer["statusCode"] == 403
    return answer["headers"]["x-amzn-ErrorType"]


def test_a_request_signed_with_the_test_credentials_passes():
    headers = signed()
    assert refused(SigV4Verifier(clock=lambda: signed_at(headers)), headers) is None
    get = signed("GET", body=None)
    assert refused(SigV4Verifier(clock=lambda: signed_at(get)), get, "GET", body=None) is None


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda h: {k: v for k, v in h.items() if k != "Authorization"}, "MissingAuthenticationTokenException"),
        (lambda h: {**h, "Authorization": "Bearer abc"}, "IncompleteSignatureException"),
        (lambda h: signed(secret="not-the-secret"), "InvalidSignatureException"),
        (lambda h: signed(key="AKIAOTHERPERSON00000"), "UnrecognizedClientException"),
        (lambda h: signed(region="eu-west-1"), "InvalidSignatureException"),
        (lambda h: signed(service="s3"), "InvalidSignatureException"),
        (lambda h: {k: v for k, v in h.items() if k != "X-Amz-Date"}, "IncompleteSignatureException"),
    ],
)
def test_a_request_without_a_valid_signature_gets_api_gateways_403(change, error):
    headers = change(signed())
    verifier = SigV4Verifier(clock=lambda: signed_at(signed()))
    assert refused(verifier, headers) == error


def test_what_was_signed_cannot_be_changed():
    headers = signed()
    verifier = SigV4Verifier(clock=lambda: signed_at(headers))
    assert refused(verifier, headers, body=BODY.replace(b"2001", b"2002")) == "InvalidSignatureException"
    assert refused(verifier, headers, url=URL.replace("FAILED", "COMPLETED")) == "InvalidSignatureException"
    assert refused(verifier, headers, method="DELETE") == "InvalidSignatureException"
    assert refused(verifier, {**headers, "Host": "evil.example:8080"}) == "InvalidSignatureException"


def test_an_old_signature_has_expired():
    headers = signed()
    assert refused(SigV4Verifier(clock=lambda: signed_at(headers) + 301), headers) == "InvalidSignatureException"
    assert refused(SigV4Verifier(clock=lambda: signed_at(headers) + 299), headers) is None
