"""Errors of the Ecwid Clone API, sorted into retryable and terminal.

Step Functions matches a Lambda error by the exception's class name (its
``errorType``), so the class names below are part of the state machine's
contract: Retry lists the retryable ones, anything else is caught as terminal.
"""

from __future__ import annotations

import re

# The state machine's Retry matches these names; keep them in sync with the ASL.
RETRYABLE_ERROR_NAMES = ("EcwidRetryableError", "EcwidRateLimitedError", "MappingWriteError")


class CloneError(Exception):
    """Base of every error the pipeline raises on purpose.

    ``code`` is the Ecwid error code when Ecwid gave one, else a code of ours;
    ``message`` is safe to log and to store: it never holds a credential.
    """

    retryable = False

    def __init__(self, code: str, message: str, http_status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class EcwidRetryableError(CloneError):
    """Worth another try later: Ecwid or the network failed transiently."""

    retryable = True


class EcwidRateLimitedError(EcwidRetryableError):
    """HTTP 429: Ecwid asks for a cooldown of ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None):
        super().__init__("RATE_LIMITED", message, 429)
        self.retry_after = retry_after


class EcwidTerminalError(CloneError):
    """Retrying cannot help: the request, the stores or the app are wrong."""


class TargetBusyError(EcwidTerminalError):
    """TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET, with the running ticket it names."""

    def __init__(self, message: str, running_ticket: str | None, http_status: int | None = None):
        super().__init__("TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET", message, http_status)
        self.running_ticket = running_ticket


class CloneFailedError(EcwidTerminalError):
    """Ecwid reported the ticket FAILED."""

    def __init__(self, message: str):
        super().__init__("CLONE_FAILED", message)


class MappingWriteError(CloneError):
    """Some mapping items stayed unprocessed after every retry; the state machine retries."""

    retryable = True

    def __init__(self, unprocessed: int):
        super().__init__("MAPPING_WRITE_INCOMPLETE", f"{unprocessed} mapping items were not written")


# Every code in the spec's error table, and what it means for us.
RETRYABLE_CODES = frozenset({"SOURCE_NOT_RESPONDING", "UNKNOWN_INTERNAL_ERROR", "UNKNOWN_IMPORT_FAILED_TO_START"})
TERMINAL_CODES = frozenset(
    {
        # A bad app must never be retried: Ecwid blocks tokens that keep failing.
        "AUTH_APP_DOESNT_EXIST",
        "SOURCE_NOT_FOUND",
        "TARGET_NOT_FOUND",
        "TARGET_NOT_ALLOWED_TO_CLONE",
        "TARGET_CATEGORIES_NOT_EMPTY",
        "TARGET_PRODUCT_TYPES_NOT_EMPTY",
        "TARGET_PRODUCTS_NOT_EMPTY",
        "TARGET_CATEGORIES_LIMIT",
        "TARGET_PRODUCTS_LIMIT",
        "TARGET_DESTINATION_ZONES_LIMIT",
        "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET",
    }
)

# The codes CreateStore ends a clone with (provisioning.py, store_creation.py).
STORE_CREATION_ERROR_CODES = frozenset(
    {
        "MERCHANT_EMAIL_EXISTS",
        "STORE_CREATE_ANSWER_LOST",
        "INVALID_MERCHANT",
        "STORE_CREATE_NOT_ALLOWED",
        "STORE_CREATE_ANSWER_MALFORMED",
    }
)


def is_retryable_status(status: int) -> bool:
    """An HTTP status worth another try: Ecwid's or a gateway's trouble, not the request's."""
    return status >= 500 or status in (408, 425)


def error_for_status(code: str, message: str, http_status: int) -> CloneError:
    """The exception for an HTTP answer that names no Ecwid errorCode: retryable or not by its status."""
    if is_retryable_status(http_status):
        return EcwidRetryableError(code, message, http_status)
    return EcwidTerminalError(code, message, http_status)


_TICKET_IN_MESSAGE = re.compile(r"ticket\s+([0-9A-Za-z-]{8,})", re.IGNORECASE)


def error_for_code(code: str, message: str, http_status: int | None = None) -> CloneError:
    """The exception for an Ecwid ``errorCode``; unknown codes are terminal."""
    if code in RETRYABLE_CODES:
        return EcwidRetryableError(code, message, http_status)
    if code == "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET":
        match = _TICKET_IN_MESSAGE.search(message)
        return TargetBusyError(message, match.group(1) if match else None, http_status)
    return EcwidTerminalError(code, message, http_status)


# An operator's action the API refuses (4xx), not an Ecwid error.
class ActionRefused(Exception):
    """The action cannot be taken: an HTTP status, and the field at fault with the reason."""

    def __init__(self, status: int, message: str, field: str, reason: str):
        super().__init__(f"{message}: {field} {reason}")
        self.status = status
        self.message = message
        self.field = field
        self.reason = reason


class CloneNotFound(ActionRefused):
    def __init__(self, clone_id: str):
        super().__init__(404, f"clone {clone_id} not found", "cloneId", "is not a clone of this stack")
