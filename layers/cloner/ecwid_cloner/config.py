"""Settings read from the Lambda environment (set by template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass

# Here, not in the clients: reading the settings must not import requests.
DEFAULT_BASE_URL = "https://app.ecwid.com/api/v3"
DEFAULT_INSTANT_SITE_BASE_URL = "https://vuega.ecwid.com/api/v1"


@dataclass(frozen=True)
class Settings:
    jobs_table: str
    mappings_table: str
    credentials_secret: str
    ecwid_base_url: str = DEFAULT_BASE_URL
    poll_scale: float = 1.0
    deadline_seconds: float = 3600.0
    ecwid_connect_timeout: float = 3.05
    ecwid_read_timeout: float = 20.0
    template_store_id: int | None = None  # the source of signups that name none
    instant_site_base_url: str = DEFAULT_INSTANT_SITE_BASE_URL
    store_secret_prefix: str = "store-cloner/stores/"  # + store ID: the secret with its secret_token
    coordination_table: str | None = None  # the request budget and the clone slots; None: neither
    ecwid_budget_per_minute: float = 540.0  # Ecwid requests a minute for the whole stack (Ecwid allows 600)
    ecwid_budget_burst: int = 10
    max_clones_in_flight: int = 420  # see AdmissionPolicy.sized_for

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            jobs_table=env["JOBS_TABLE_NAME"],
            mappings_table=env["MAPPINGS_TABLE_NAME"],
            credentials_secret=env["ECWID_CREDENTIALS_SECRET"],
            ecwid_base_url=env.get("ECWID_API_BASE_URL") or DEFAULT_BASE_URL,
            poll_scale=float(env.get("POLL_SCALE") or 1.0),
            deadline_seconds=float(env.get("CLONE_DEADLINE_SECONDS") or 3600),
            ecwid_connect_timeout=float(env.get("ECWID_CONNECT_TIMEOUT") or 3.05),
            ecwid_read_timeout=float(env.get("ECWID_READ_TIMEOUT") or 20.0),
            template_store_id=int(env["TEMPLATE_STORE_ID"]) if env.get("TEMPLATE_STORE_ID") else None,
            instant_site_base_url=env.get("INSTANT_SITE_BASE_URL") or DEFAULT_INSTANT_SITE_BASE_URL,
            store_secret_prefix=env.get("STORE_SECRET_PREFIX") or "store-cloner/stores/",
            coordination_table=env.get("COORDINATION_TABLE_NAME") or None,
            ecwid_budget_per_minute=float(env.get("ECWID_BUDGET_PER_MINUTE") or 540),
            ecwid_budget_burst=int(env.get("ECWID_BUDGET_BURST") or 10),
            max_clones_in_flight=int(env.get("MAX_CLONES_IN_FLIGHT") or 420),
        )
