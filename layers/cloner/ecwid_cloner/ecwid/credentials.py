"""The Ecwid app's credentials, from Secrets Manager (cached by Powertools), and the partner's
optional Reseller API key beside them (``resellerKey``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.utilities import parameters

from ecwid_cloner.ecwid.transport import EcwidCredentials
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError, ErrorCode

if TYPE_CHECKING:
    from ecwid_cloner.ecwid.reseller import ResellerKey

CACHE_SECONDS = 300  # a rotated secret is picked up within five minutes


def read_secret(name: str, code: str, *, transform: Literal["json"] | None = None, what: str = "") -> object:
    """A secret's value through Powertools' cache, or the typed error for its absence.

    ``code`` prefixes the error codes (ErrorCode): {code}_MISSING (terminal: a
    secret that is not there will not appear by retrying), {code}_UNAVAILABLE
    (retryable: throttling or a network blip will pass), {code}_INVALID (not JSON,
    when ``transform="json"``).
    """
    try:
        return parameters.get_secret(name, transform=transform, max_age=CACHE_SECONDS)
    except parameters.exceptions.TransformParameterError:
        raise EcwidTerminalError(ErrorCode(f"{code}_INVALID"), f"Secret {name} is not a JSON object") from None
    except parameters.exceptions.GetParameterError as exc:
        if "ResourceNotFoundException" in str(exc):
            raise EcwidTerminalError(ErrorCode(f"{code}_MISSING"), f"Secret {name}{what} does not exist") from None
        raise EcwidRetryableError(ErrorCode(f"{code}_UNAVAILABLE"), f"Secret {name} could not be read") from None


def load_credentials(secret_name: str) -> EcwidCredentials:
    """Read ``{"clientId": …, "clientSecret": …}`` from the named secret."""
    value = read_secret(secret_name, "CREDENTIALS", transform="json")
    client_id = value.get("clientId") if isinstance(value, dict) else None
    client_secret = value.get("clientSecret") if isinstance(value, dict) else None
    if not client_id or not client_secret:
        # Name the fields, never their values.
        raise EcwidTerminalError(
            ErrorCode.CREDENTIALS_INVALID, f"Secret {secret_name} needs non-empty clientId and clientSecret"
        )
    return EcwidCredentials(client_id=str(client_id), client_secret=str(client_secret))


def load_reseller_key(secret_name: str) -> ResellerKey | None:
    """The optional ``resellerKey`` of the credentials secret; None when it is absent or empty.
    Only ever read here: never a parameter or an environment variable."""
    from ecwid_cloner.ecwid.reseller import ResellerKey

    value = read_secret(secret_name, "CREDENTIALS", transform="json")
    key = value.get("resellerKey") if isinstance(value, dict) else None
    if key is None or key == "":
        return None
    if not isinstance(key, str) or not key.strip():
        raise EcwidTerminalError(
            ErrorCode.CREDENTIALS_INVALID, f"Secret {secret_name}: resellerKey must be a non-empty string"
        )
    return ResellerKey(key.strip())
