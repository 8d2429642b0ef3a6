"""API Gateway (REST, proxy integration) events from plain HTTP requests, and back."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# The API's resources as template.yaml declares them, most specific first.
RESOURCES = (
    "/stores/{targetStoreId}/mappings/{entity}/{sourceId}",
    "/clones/{cloneId}/mappings",
    "/clones/{cloneId}",
    "/clones",
)
STAGE = "v1"


def _match(path: str) -> tuple[str, dict[str, str]] | None:
    for resource in RESOURCES:
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", resource) + "/?$"
        found = re.match(pattern, path)
        if found:
            return resource, found.groupdict()
    return None


def rest_event(method: str, url: str, body: str | bytes | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The event API Gateway's proxy integration gives the Lambda for this request."""
    parts = urlsplit(url)
    path = parts.path
    if path.startswith(f"/{STAGE}/"):
        path = path[len(STAGE) + 1:]
    matched = _match(path)
    resource, path_parameters = matched if matched else (path, {})
    query_pairs = parse_qsl(parts.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        multi_query.setdefault(name, []).append(value)
    headers = dict(headers or {})
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": body or None,
        "isBase64Encoded": False,
    }


def is_known_route(path: str) -> bool:
    return _match(path[len(STAGE) + 1:] if path.startswith(f"/{STAGE}/") else path) is not None


def response_parts(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a proxy integration's answer."""
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    body = result.get("body") or ""
    return int(result.get("statusCode", 502)), headers, body.encode() if isinstance(body, str) else json.dumps(body).encode()
