"""Settings read from the Lambda environment (set by template.yaml).

Each setting is declared once: its field, its variable, how it is read and its
default. Everything else (the clients, the steps, the local stack) takes its
defaults from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

# Here, not in the clients: reading the settings must not import requests.
DEFAULT_BASE_URL = "https://app.ecwid.com/api/v3"
DEFAULT_INSTANT_SITE_BASE_URL = "https://vuega.ecwid.com/api/v1"
DEFAULT_RESELLER_BASE_URL = "https://my.ecwid.com/resellerapi/v1"


def setting(variable: str, read: Callable[[str], Any] = str, default: Any = MISSING) -> Any:
    """A field read from ``variable``; without a default the variable is required."""
    metadata = {"variable": variable, "read": read}
    return field(metadata=metadata) if default is MISSING else field(default=default, metadata=metadata)


def one_of(*values: str) -> Callable[[str], str]:
    """A reader that refuses any value but ``values`` (a mistyped parameter fails at start)."""

    def read(value: str) -> str:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}, got {value!r}")
        return value

    return read


def positive[Number: (int, float)](kind: Callable[[str], Number]) -> Callable[[str], Number]:
    """A reader of a number that must be above 0 (a scale, a timeout, a rate, a cap)."""

    def read(value: str) -> Number:
        number = kind(value)
        if not number > 0:
            raise ValueError(f"must be above 0, got {value!r}")
        return number

    return read


def not_negative(value: str) -> float:
    """A number of days that may be 0 (0: kept), never below."""
    number = float(value)
    if not number >= 0:
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


class SettingError(ValueError):
    """A variable the template (or an operator) set to a value the code cannot run with."""


@dataclass(frozen=True)
class Settings:
    jobs_table: str = setting("JOBS_TABLE_NAME")
    mappings_table: str = setting("MAPPINGS_TABLE_NAME")
    credentials_secret: str = setting("ECWID_CREDENTIALS_SECRET")
    ecwid_base_url: str = setting("ECWID_API_BASE_URL", default=DEFAULT_BASE_URL)
    poll_scale: float = setting("POLL_SCALE", positive(float), 1.0)
    deadline_seconds: float = setting("CLONE_DEADLINE_SECONDS", positive(float), 3600.0)
    # Just over a multiple of 3 s (TCP's retransmission interval), as requests advises.
    ecwid_connect_timeout: float = setting("ECWID_CONNECT_TIMEOUT", positive(float), 3.05)
    ecwid_read_timeout: float = setting("ECWID_READ_TIMEOUT", positive(float), 20.0)
    template_store_id: int | None = setting(
        "TEMPLATE_STORE_ID", positive(int), None
    )  # the source of signups that name none
    instant_site_base_url: str = setting("INSTANT_SITE_BASE_URL", default=DEFAULT_INSTANT_SITE_BASE_URL)
    # Ecwid's Reseller API (its key, optional, is in the credentials secret: resellerKey)
    reseller_api_base_url: str = setting("RESELLER_API_BASE_URL", default=DEFAULT_RESELLER_BASE_URL)
    # + store ID: the secret with that store's secret_token, for stacks from before the store-tokens table
    store_secret_prefix: str = setting("STORE_SECRET_PREFIX", default="store-cloner/stores/")
    # Every store's token, encrypted under this KMS key with its store ID as context (store_tokens.py)
    store_tokens_table: str | None = setting("STORE_TOKENS_TABLE_NAME", default=None)
    store_tokens_key_arn: str | None = setting("STORE_TOKENS_KEY_ARN", default=None)
    coordination_table: str | None = setting("COORDINATION_TABLE_NAME", default=None)  # budget and slots; None: neither
    # Ecwid requests a minute for the whole stack (Ecwid allows 600)
    ecwid_budget_per_minute: float = setting("ECWID_BUDGET_PER_MINUTE", positive(float), 540.0)
    ecwid_budget_burst: int = setting("ECWID_BUDGET_BURST", positive(int), 10)
    max_clones_in_flight: int = setting("MAX_CLONES_IN_FLIGHT", positive(int), 1000)  # see AdmissionPolicy.sized_for
    state_machine_arn: str | None = setting("STATE_MACHINE_ARN", default=None)  # the entry points start clones there
    # Operators' bulk actions run as executions of this state machine; the API starts them.
    bulk_state_machine_arn: str | None = setting("BULK_STATE_MACHINE_ARN", default=None)
    # Where an outcome that ends outside the state machine (an operator's cancel) is published.
    event_bus_name: str | None = setting("EVENT_BUS_NAME", default=None)
    bulk_actions_per_second: float = setting("BULK_ACTIONS_PER_SECOND", positive(float), 20.0)
    job_retention_days: float = setting("JOB_RETENTION_DAYS", not_negative, 0.0)  # a final job expires after; 0: kept
    mapping_retention_days: float = setting(
        "MAPPING_RETENTION_DAYS", not_negative, 0.0
    )  # 0: kept while the store lives
    # What becomes of a store this stack created when its provisioning fails (store_actions.py)
    failed_store_action: str = setting("FAILED_STORE_ACTION", one_of("keep", "suspend", "delete"), "suspend")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values = {}
        for declared in fields(cls):
            variable = declared.metadata["variable"]
            if env.get(variable):  # an empty variable (a parameter left blank) is an unset one
                try:
                    values[declared.name] = declared.metadata["read"](env[variable])
                except ValueError as bad:  # at start, naming the variable: not a crash in some step later
                    raise SettingError(f"{variable}: {bad}") from None
            elif declared.default is MISSING:
                raise KeyError(variable)
        return cls(**values)


DEFAULTS = {declared.name: declared.default for declared in fields(Settings) if declared.default is not MISSING}
