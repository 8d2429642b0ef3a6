"""The operator tool's side of /v1: each request the page makes, sent on to the deployed API and
signed there with the operator's own credentials (SigV4 with botocore for ApiAuthMode=AWS_IAM,
or the API key for API_KEY). The credentials stay in this process: in the headers of the
request to the API, never in an answer to the page."""

from __future__ import annotations

from urllib.parse import urlsplit

from console.server import Forward
from local.api_client import ApiClient


def signing_forward(client: ApiClient) -> Forward:
    """A Forward that sends each request to ``client.api_url``, signed as the client is set up."""

    def forward(method: str, under: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        parts = urlsplit(under)
        sent = {"Content-Type": headers["content-type"]} if "content-type" in headers else {}
        answer = client.call(method, parts.path, body, headers=sent, query=parts.query)
        return answer.status_code, dict(answer.headers), answer.content

    return forward


def check_credentials(client: ApiClient) -> str | None:
    """Why the client cannot sign (None: it can), said before the console starts."""
    if not client.sigv4:
        return None
    import botocore.session

    if botocore.session.get_session().get_credentials() is None:
        return "--sigv4: no AWS credentials found to sign with (aws configure, AWS_PROFILE, or the environment)"
    return None
