"""The store profile (REST v3, with the store's own token): GET and PUT /api/v3/{storeId}/profile.

GET -> 200 the profile (Ecwid's nested shape, profiles.py); PUT, a partial update ->
200 {"updateCount": 1}. Order: rate limit and faults ("profile") -> on a PUT, Content-Type
application/json (415) and a JSON body (400) -> store (404) -> Authorization: Bearer <the
store's secret token> (401) -> the token's scope, read_store_profile or
update_store_profile (403) -> the fields (400, nothing changes). The store's token is the
app's (issued to it for that store), so these calls count in one window with every other
call of the app.
"""

from __future__ import annotations

import copy
import hmac
import re
from typing import Any

from .exchange import API_PREFIX, Exchange, Route, of_store
from .profiles import apply_update
from .refusals import ProfileError
from .stores import READ_STORE_PROFILE, UPDATE_STORE_PROFILE, Store, StoreBook

PROFILE_FAULTS = "profile"  # the Faults endpoint of GET/PUT /api/v3/{storeId}/profile


def serve(ex: Exchange, match: re.Match[str]) -> None:
    store_id = int(match.group(1))
    registry = ex.sandbox._registry
    if ex.command == "GET":
        ex.serve_token_call(PROFILE_FAULTS, ProfileError, lambda: registry.store_profile(store_id, ex.bearer_token()))
        return

    def update() -> dict:
        content_type = (ex.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ProfileError(415, "Unsupported content-type: expected application/json")
        registry.update_store_profile(store_id, ex.bearer_token(), ex.json_body_or(ProfileError))
        return {"updateCount": 1}

    ex.serve_token_call(PROFILE_FAULTS, ProfileError, update)


ROUTES = (Route(frozenset({"GET", "PUT"}), of_store(API_PREFIX, "/profile"), serve),)


class StoreProfiles(StoreBook):
    """Each store's profile, read and changed with the store's own token."""

    def store_profile(self, store_id: int, token: str | None) -> dict:
        """GET /{storeId}/profile: 404 unknown store, 401 a token that is not the store's, 403 no scope."""
        with self._lock:
            store = self._store_for_token(store_id, token, READ_STORE_PROFILE)
            return copy.deepcopy(store.profile)

    def update_store_profile(self, store_id: int, token: str | None, body: Any) -> None:
        """PUT /{storeId}/profile: a partial update (400 when a field is wrong; nothing changes then)."""
        with self._lock:
            store = self._store_for_token(store_id, token, UPDATE_STORE_PROFILE)
            apply_update(store.profile, body)

    def _store_for_token(self, store_id: int, token: str | None, scope: str) -> Store:
        store = self._stores.get(store_id)
        if store is None:
            raise ProfileError(404, f"Store #{store_id} not found")
        if not token or not hmac.compare_digest(token.encode(), store.secret_token.encode()):
            raise ProfileError(401, "Access token is missing or invalid for this store")
        if scope not in store.rest_scopes:
            raise ProfileError(403, f"Access token doesn't have {scope} scope")
        return store
