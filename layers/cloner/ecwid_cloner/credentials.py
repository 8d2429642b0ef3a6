"""The Ecwid app's credentials, from Secrets Manager (cached by Powertools)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from ecwid_cloner.ecwid_client import EcwidCredentials
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError

CACHE_SECONDS = 300  # a rotated secret is picked up within five minutes


def load_credentials(secret_name: str) -> EcwidCredentials:
    """Read ``{"clientId": …, "clientSecret": …}`` from the named secret."""
    try:
        value = parameters.get_secret(secret_name, transform="json", max_age=CACHE_SECONDS)
    except parameters.exceptions.TransformParameterError:
        raise EcwidTerminalError("CREDENTIALS_INVALID", f"Secret {secret_name} is not a JSON object") from None
    except parameters.exceptions.GetParameterError as exc:
        # A secret that is not there will not appear by retrying; throttling or
        # a network blip will pass.
        if "ResourceNotFoundException" in str(exc):
            raise EcwidTerminalError("CREDENTIALS_MISSING", f"Secret {secret_name} does not exist") from None
        raise EcwidRetryableError("CREDENTIALS_UNAVAILABLE", f"Secret {secret_name} could not be read") from None
    client_id = value.get("clientId") if isinstance(value, dict) else None
    client_secret = value.get("clientSecret") if isinstance(value, dict) else None
    if not client_id or not client_secret:
        # Name the fields, never their values.
        raise EcwidTerminalError(
            "CREDENTIALS_INVALID", f"Secret {secret_name} needs non-empty clientId and clientSecret"
        )
    return EcwidCredentials(client_id=str(client_id), client_secret=str(client_secret))
