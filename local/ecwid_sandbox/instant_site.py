"""The Instant Site API (stands for https://vuega.ecwid.com/api/v1), served under /instantsite/api/v1.

Every call: rate limit -> faults ("instant_site") -> then
- POST /oauth/token?grant_type=authorization_code&site_id=S&code=SECRET: params (400) ->
  site (404) -> code, the store's secret token (401) -> 200 {"accessToken", "tokenType":
  "bearer", "expiresIn"};
- POST /{storeId}/clone, Authorization: Bearer TOKEN, body {"source", "draft"}: token of
  that store, live (401) -> the store's scopes, manage_instant_site and clone_stores
  (403) -> body (400) -> source (404) -> 200 {"success": true, "draft", "source"}; the
  target's site becomes the source's (its profile too), a draft or published;
- PUT /{storeId}/profile, Authorization: Bearer TOKEN: a JSON body (400) -> token (401)
  -> scopes (403) -> fields (400) -> 200 {"success": true}: a partial update of the
  site's profile (storeName, email, locale, countryCode).
Their requests count against the app's window, as the Clone Store API's do: the store
tokens they carry are the app's.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import time
from typing import Any

from .exchange import BadParam, Exchange, Route, exact, of_store, positive_id
from .profiles import apply_site_update
from .refusals import InstantSiteError, ProfileError
from .stores import INSTANT_SITE_SCOPES, StoreBook

INSTANT_SITE_PREFIX = "/instantsite/api/v1"  # stands for https://vuega.ecwid.com/api/v1
INSTANT_SITE_TOKEN_PATH = INSTANT_SITE_PREFIX + "/oauth/token"
INSTANT_SITE_FAULTS = "instant_site"  # the Faults endpoint of every Instant Site call


def serve_token(ex: Exchange, _: re.Match[str]) -> None:
    sbx = ex.sandbox
    q = ex.query
    if not ex.passes_gateway(sbx.config.client_id, INSTANT_SITE_FAULTS):
        return
    try:
        grant_type = q.get("grant_type")
        if not grant_type:
            raise BadParam("Parameter grant_type is required")
        if grant_type != "authorization_code":
            raise BadParam(f"Parameter grant_type must be authorization_code, got {grant_type[:40]!r}")
        site_id = positive_id("site_id", q.get("site_id"))
    except BadParam as exc:
        ex.send_json(400, {"errorMessage": str(exc)})
        return
    lifetime = sbx.config.instant_site_token_seconds
    try:
        token = sbx._registry.issue_instant_site_token(site_id, q.get("code"), lifetime)
    except InstantSiteError as exc:
        ex.send_json(exc.status, exc.body())
        return
    body = {"accessToken": token, "tokenType": "bearer", "expiresIn": lifetime}
    ex.send_json(200, body, {"Cache-Control": "no-store"})


def serve_clone(ex: Exchange, match: re.Match[str]) -> None:
    target_id = int(match.group(1))
    registry = ex.sandbox._registry

    def clone() -> dict:
        registry.check_instant_site_access(target_id, ex.bearer_token())
        source_id, draft = _clone_body(ex)
        registry.clone_instant_site(target_id, source_id, draft)
        return {"success": True, "draft": draft, "source": source_id}

    ex.serve_token_call(INSTANT_SITE_FAULTS, InstantSiteError, clone)


def serve_profile(ex: Exchange, match: re.Match[str]) -> None:
    """PUT /{storeId}/profile with the site's access token: a partial update of the site's profile."""
    store_id = int(match.group(1))
    registry = ex.sandbox._registry

    def update() -> dict:
        registry.update_site_profile(store_id, ex.bearer_token(), ex.json_body_or(InstantSiteError))
        return {"success": True}

    ex.serve_token_call(INSTANT_SITE_FAULTS, InstantSiteError, update)


ROUTES = (
    Route(frozenset({"POST"}), exact(INSTANT_SITE_TOKEN_PATH), serve_token),
    Route(frozenset({"POST"}), of_store(INSTANT_SITE_PREFIX, "/clone"), serve_clone),
    Route(frozenset({"PUT"}), of_store(INSTANT_SITE_PREFIX, "/profile"), serve_profile),
)


def _clone_body(ex: Exchange) -> tuple[int, bool]:
    """{"source": positive int, "draft": bool}; other fields are ignored."""
    data = ex.json_body_or(InstantSiteError)
    if not isinstance(data, dict):
        raise InstantSiteError(400, "Request body must be a JSON object")
    source = data.get("source")
    if isinstance(source, bool) or not isinstance(source, int) or not 0 < source < 10**18:
        raise InstantSiteError(400, f"Field source must be a positive integer, got {json.dumps(source)[:40]}")
    draft = data.get("draft")
    if not isinstance(draft, bool):
        raise InstantSiteError(400, f"Field draft must be true or false, got {json.dumps(draft)[:40]}")
    return source, draft


class InstantSites(StoreBook):
    """Each store's Instant Site, its access tokens and its profile, on top of the stores."""

    def issue_instant_site_token(self, store_id: int, code: str | None, lifetime: float) -> str:
        """An access token for the store whose secret token `code` is; 404 / 401 otherwise."""
        with self._lock:
            store = self._stores.get(store_id)
            if store is None:
                raise InstantSiteError(404, f"Store #{store_id} not found")
            if not code:
                raise InstantSiteError(401, "Parameter code is required")
            # Constant-time compare, as for the app secret.
            if not hmac.compare_digest(code.encode(), store.secret_token.encode()):
                raise InstantSiteError(401, f"Invalid code for site #{store_id}")
            now = time.monotonic()
            for token in [t for t, (_, expiry) in self._access_tokens.items() if expiry <= now]:
                del self._access_tokens[token]
            token = secrets.token_urlsafe(32)  # a credential: unpredictable, not seeded
            self._access_tokens[token] = (store_id, now + lifetime)
            return token

    def check_instant_site_access(self, target_id: int, token: str | None) -> None:
        """401 unless `token` is a live token of the target; 403 when the target lacks a scope."""
        with self._lock:
            issued = self._access_tokens.get(token) if token else None
            if token is None or issued is None:
                raise InstantSiteError(401, "Missing or unknown access token")
            owner, expiry = issued
            if expiry <= time.monotonic():
                del self._access_tokens[token]
                raise InstantSiteError(401, "Access token expired")
            if owner != target_id:
                raise InstantSiteError(401, f"Access token is not valid for site #{target_id}")
            target = self._stores[target_id]
            missing = [scope for scope in INSTANT_SITE_SCOPES if scope not in target.instant_site_scopes]
            if missing:
                raise InstantSiteError(403, f"Access token lacks the scope {', '.join(missing)}")

    def clone_instant_site(self, target_id: int, source_id: int, draft: bool) -> dict:
        """Record the clone on the target (404 when the source is unknown); the new record."""
        with self._lock:
            if source_id not in self._stores:
                raise InstantSiteError(404, f"Store #{source_id} not found")
            target = self._stores[target_id]
            clones = (target.instant_site or {}).get("clones", 0) + 1
            target.instant_site = {"source": source_id, "draft": draft, "published": not draft, "clones": clones}
            target.site_profile = dict(self._stores[source_id].site_profile)  # the site's SEO title, e-mail...
            return dict(target.instant_site)

    def update_site_profile(self, target_id: int, token: str | None, body: Any) -> None:
        """The Instant Site's PUT /{storeId}/profile with a live access token of that store."""
        with self._lock:
            self.check_instant_site_access(target_id, token)
            try:
                apply_site_update(self._stores[target_id].site_profile, body)
            except ProfileError as exc:
                raise InstantSiteError(exc.status, exc.message) from None

    def instant_site_clones(self) -> dict[str, int]:
        """Instant Site clones into each store that had one, for the admin API's stats."""
        with self._lock:
            return {
                str(s.store_id): s.instant_site["clones"]
                for s in sorted(self._stores.values(), key=lambda s: s.store_id)
                if s.instant_site is not None
            }
