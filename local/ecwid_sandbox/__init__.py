"""Ecwid Clone Store API sandbox: a local, spec-faithful stand-in for app.ecwid.com.

    from local.ecwid_sandbox import EcwidSandbox, SandboxConfig, Faults

    with EcwidSandbox(SandboxConfig(queued_seconds=0.1, clone_seconds=0.4)) as sbx:
        requests.post(f"{sbx.base_url}/stores/clone", params={...}, headers={...})

The Instant Site API (stands for https://vuega.ecwid.com/api/v1) is at
`sbx.instant_site_base_url` (http://127.0.0.1:PORT/instantsite/api/v1):

    POST /oauth/token?grant_type=authorization_code&site_id={storeId}&code={secret token}
        -> 200 {"accessToken", "tokenType": "bearer", "expiresIn": 3600}
    POST /{target storeId}/clone  Authorization: Bearer <accessToken>  {"source": id, "draft": bool}
        -> 200 {"success": true, "draft", "source"}; sbx.store(target)["instantSite"] ==
           {"source", "draft", "published": not draft, "clones": n}
    PUT /{storeId}/profile  Authorization: Bearer <accessToken>  {"storeName"?, "email"?, ...}
        -> 200 {"success": true}; sbx.store(id)["siteProfile"]

Every store has a secret token, `sbx.store_secret_token(store_id)` (admin:
GET /_sandbox/stores/{id}/secret-token), made from the seed unless
add_store(..., secret_token=...) sets it, and both scopes the clone needs
(add_store(..., instant_site_scopes=...) takes them away: 403). Their faults are
`sbx.faults.instant_site`; the request log never holds a secret token or access token.

Beside the Clone Store API, `sbx.base_url` serves store creation (Partner API): POST
/stores?returnApiToken=true {"merchant": {"email", "name"}} -> {"id", "token"} (ids from
60000001; `sbx.created_stores()`), GET /stores?email= -> 200 {} or 404; and each store's
profile with its own secret token: GET/PUT /{storeId}/profile (`sbx.store(id)["profile"]`).
Their faults are `sbx.faults.create_store` and `sbx.faults.profile`.

The Reseller API (stands for https://my.ecwid.com/resellerapi/v1) is at
`sbx.reseller_base_url`, with the key `sbx.config.reseller_key`: `stores`, `suspend`,
`resume`, `delete`, `status` as Ecwid documents them (reseller.py). Stores POST
/api/v3/stores makes are the partner's; add_store(..., partner=True) makes another one so.
`sbx.store(id)` shows `partner`, `createdAt`, `suspended` and `deleted`.

Default stores: 1003 template (500 products, 40 categories, 3 product types, 2 demo
products, 3 destination zones); 1004 big template (5,000 products, 200 categories);
1005 source that does not respond; 2001..2300 and 4001..5000 empty targets (2 demo
products, 1 demo category each); 3001 not allowed to clone; 3002 products limit 10; 3003 categories
limit 5; 3004 destination zones limit 0; 3005 one product; 3006 one category; 3007
one product type; 3008 target that does not respond.

Run it standalone: python -m local.ecwid_sandbox --port 8765 [--clone-seconds 20]

One module per API it serves, each saying its order of checks and its answers:
clone_api.py (the Clone Store API), store_creation.py (POST/GET /api/v3/stores),
store_profile.py (GET/PUT /api/v3/{storeId}/profile), instant_site.py (the Instant Site
API), reseller.py and reseller_stores.py (the Reseller API, and the 402 of a suspended
store), admin.py (/_sandbox: stores, faults, stats). They share one request and fault
layer: exchange.py (routing, JSON and gzip answers, the gateway: rate_limit.py's window,
then faults.py's draws), request_log.py (the log, redacted). The state is one
registry.py `StoreRegistry`: the stores (stores.py) and each API's part of them, in the
API's module (clone_tickets.py for the Clone API); profiles.py is the profiles' shape.
server.py holds `EcwidSandbox` and the route table.
"""

from .faults import EndpointFaults, Faults
from .server import EcwidSandbox, SandboxConfig

__all__ = ["EcwidSandbox", "EndpointFaults", "Faults", "SandboxConfig"]
