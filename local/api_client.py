"""A client of store-cloner's HTTP API as operators reach it: the local one (python -m local
api) unsigned, a deployed one signed with the operator's own AWS credentials (SigV4, for
ApiAuthMode=AWS_IAM) or with its API key (ApiAuthMode=API_KEY). Credentials stay here: in
the headers of the request, never in what is printed or served."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

LOCAL_API_URL = "http://127.0.0.1:8080/v1"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


@dataclass
class ApiClient:
    api_url: str = LOCAL_API_URL
    api_key: str | None = field(default=None, repr=False)
    sigv4: bool = False  # sign with the AWS credentials boto3 would find
    region: str | None = None
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, query: str = ""
    ) -> requests.Response:
        """One request to ``{api_url}{path}`` (path like "/clones/abc/retry"), signed as configured."""
        url = self.api_url.rstrip("/") + path + (f"?{query}" if query else "")
        data = None if body is None else body if isinstance(body, (bytes, str)) else json.dumps(body)
        sent = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        if self.api_key:
            sent["x-api-key"] = self.api_key
        if self.sigv4:
            sent = self._signed(method, url, data, sent)
        return self.session.request(method, url, data=data, headers=sent, timeout=self.timeout)

    def _signed(self, method: str, url: str, data: str | bytes | None, headers: dict[str, str]) -> dict[str, str]:
        import botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials found to sign with (aws configure, or AWS_PROFILE)")
        region = self.region or _region_of(url) or session.get_config_variable("region") or "us-east-1"
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())


def _region_of(url: str) -> str | None:
    found = _REGION_IN_HOST.search(urlsplit(url).netloc)
    return found.group(1) if found else None


def client_from(api_url: str | None, api_key: str | None, sigv4: bool, region: str | None = None) -> ApiClient:
    """The client for the CLI's options; the key may come from STORE_CLONER_API_KEY instead."""
    return ApiClient(
        api_url=api_url or LOCAL_API_URL,
        api_key=api_key or os.environ.get("STORE_CLONER_API_KEY") or None,
        sigv4=sigv4,
        region=region,
    )
