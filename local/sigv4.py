"""What API Gateway does for ApiAuthMode=AWS_IAM, for the local API: check each request's AWS
Signature Version 4 (``python -m local api --verify-sigv4``) and answer 403 as API Gateway does
when it is missing or wrong. The signature is recomputed with botocore's own signer from the
request as received (the headers it names as signed, its body) and the known test credentials
below; nothing else is trusted. A local stand-in: it checks the signature, not IAM policies.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.template_model import REGION

# The operator's credentials the local API knows: a signing proxy run with these in its
# environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) gets through. Test values, nothing real.
TEST_ACCESS_KEY_ID = "AKIALOCALOPERATOR000"
TEST_SECRET_ACCESS_KEY = "local-operator-secret-for-tests-only"
SERVICE = "execute-api"
MAX_SKEW_SECONDS = 300  # API Gateway refuses a signature dated more than 5 minutes off
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SigV4Verifier:
    access_key_id: str = TEST_ACCESS_KEY_ID
    secret_access_key: str = field(default=TEST_SECRET_ACCESS_KEY, repr=False)
    region: str = REGION
    clock: Callable[[], float] = time.time

    def refusal(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any] | None:
        """API Gateway's 403 for a request without a valid signature (a proxy integration's
        answer: statusCode, headers, body); None when the signature holds. ``url`` is the full
        URL as the client addressed it (http://host:port/v1/...)."""
        lower = {name.lower(): value for name, value in headers.items()}
        authorization = lower.get("authorization")
        if not authorization:
            return _refused("MissingAuthenticationTokenException", "Missing Authentication Token")
        found = _AUTHORIZATION.match(authorization.strip())
        if not found:
            return _refused(
                "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
                "(AWS4-HMAC-SHA256).",
            )
        access_key, date, region, service, terminal = (found["credential"].split("/") + [""] * 5)[:5]
        if access_key != self.access_key_id:
            return _refused("UnrecognizedClientException", "The security token included in the request is invalid.")
        amz_date = lower.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _refused("IncompleteSignatureException", "Authorization requires an X-Amz-Date header.")
        if (region, service, terminal, date) != (self.region, SERVICE, "aws4_request", amz_date[:8]):
            return _refused(
                "InvalidSignatureException",
                f"Credential should be scoped to {amz_date[:8]}/{self.region}/{SERVICE}/aws4_request.",
            )
        if abs(signed_at.timestamp() - self.clock()) > MAX_SKEW_SECONDS:
            return _refused("InvalidSignatureException", f"Signature expired: {amz_date} is more than 5 minutes off.")
        signed = found["signed"].split(";")
        if "host" not in signed or any(name not in lower for name in signed):
            return _refused("IncompleteSignatureException", "SignedHeaders must name host, and only headers sent.")
        expected = self._signature(method, url, {name: lower[name] for name in signed}, body, amz_date)
        if not hmac.compare_digest(expected, found["signature"]):
            return _refused(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.",
            )
        return None

    def _signature(self, method: str, url: str, headers: dict[str, str], body: bytes | None, amz_date: str) -> str:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(self.access_key_id, self.secret_access_key), SERVICE, self.region)
        canonical = signer.canonical_request(request)
        return signer.signature(signer.string_to_sign(request, canonical), request)


def _refused(error_type: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": 403,
        "headers": {"Content-Type": "application/json", "x-amzn-ErrorType": error_type},
        "body": json.dumps({"message": message}),
    }
