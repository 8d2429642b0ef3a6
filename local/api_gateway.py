"""API Gateway (REST, proxy integration) events from plain HTTP requests, and back."""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

STAGE = "v1"


@functools.cache
def routes() -> dict[str, tuple[re.Pattern[str], frozenset[str]]]:
    """The API's resources as template.yaml declares them, most specific first: the
    pattern of each, with its path parameters as groups, and its methods."""
    from local.template_model import TemplateModel

    paths = TemplateModel().resources("AWS::Serverless::Api")["CloneApi"]["Properties"]["DefinitionBody"]["paths"]
    return {
        path: (
            re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "/?$"),
            frozenset(method.upper() for method in paths[path]),
        )
        for path in sorted(paths, key=lambda path: (-path.count("/"), path))
    }


def _match(path: str) -> tuple[str, dict[str, str]] | None:
    for resource, (pattern, _) in routes().items():
        found = pattern.match(path)
        if found:
            return resource, found.groupdict()
    return None


def _resource_path(url: str) -> str:
    path = urlsplit(url).path
    return path[len(STAGE) + 1 :] if path.startswith(f"/{STAGE}/") else path


def refusal(method: str, url: str) -> dict[str, Any] | None:
    """API Gateway's own answer to a method or path the API does not declare (the
    Lambda never sees it): 403 Missing Authentication Token; None when routed."""
    matched = _match(_resource_path(url))
    if matched and method.upper() in routes()[matched[0]][1]:
        return None
    return {
        "statusCode": 403,
        "headers": {"Content-Type": "application/json", "x-amzn-ErrorType": "MissingAuthenticationTokenException"},
        "body": json.dumps({"message": "Missing Authentication Token"}),
    }


def rest_event(
    method: str, url: str, body: str | bytes | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The event API Gateway's proxy integration gives the Lambda for this request."""
    parts = urlsplit(url)
    path = _resource_path(url)
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


def response_parts(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a proxy integration's answer."""
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    body = result.get("body") or ""
    return (
        int(result.get("statusCode", 502)),
        headers,
        body.encode() if isinstance(body, str) else json.dumps(body).encode(),
    )
