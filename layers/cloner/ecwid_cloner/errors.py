"""Every error code of the pipeline, once, with its class; and the errors that carry them.

Step Functions matches a Lambda error by the exception's class name (its
``errorType``), so the class names below are part of the state machine's
contract: Retry lists the retryable ones, anything else is caught as terminal.
The code an error carries ends on the job (``errorCode``), in a step's error or in
``storeAction.reason``: docs/operations.md explains each to operators (a unit test
holds the registry and its tables equal).
"""

from __future__ import annotations

import re
from enum import StrEnum, auto

# The state machine's Retry matches these names; keep them in sync with the ASL.
RETRYABLE_ERROR_NAMES = ("EcwidRetryableError", "EcwidRateLimitedError", "MappingWriteError")


class _Named(StrEnum):
    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
        return name  # a code is spelled as its own name


class ErrorCode(_Named):
    """The registry: every code the pipeline raises or records, spelled once. Retried or not:
    ``retryable`` (the RETRYABLE table below); every other code is terminal."""

    # Ecwid's Clone API: the spec's error table.
    AUTH_APP_DOESNT_EXIST = auto()  # never retried: Ecwid blocks tokens that keep failing
    SOURCE_NOT_FOUND = auto()
    TARGET_NOT_FOUND = auto()
    TARGET_NOT_ALLOWED_TO_CLONE = auto()
    TARGET_CATEGORIES_NOT_EMPTY = auto()
    TARGET_PRODUCT_TYPES_NOT_EMPTY = auto()
    TARGET_PRODUCTS_NOT_EMPTY = auto()
    TARGET_CATEGORIES_LIMIT = auto()
    TARGET_PRODUCTS_LIMIT = auto()
    TARGET_DESTINATION_ZONES_LIMIT = auto()
    TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET = auto()  # it names the running ticket (TargetBusyError)
    SOURCE_NOT_RESPONDING = auto()
    UNKNOWN_INTERNAL_ERROR = auto()
    UNKNOWN_IMPORT_FAILED_TO_START = auto()
    # How a clone ended, in our words.
    CLONE_FAILED = auto()  # Ecwid reported the ticket FAILED
    CLONE_TIMED_OUT = auto()  # no answer before the deadline
    CLONE_ANSWER_LOST = auto()  # an unanswered POST most likely filled the target: its ticket is lost
    CANCELLED = auto()  # by an operator (also the error its stopped execution ends with)
    UNKNOWN_ERROR = auto()  # a caught error without a name
    # Any Ecwid call: the transport and the shared request budget; the mapping's write.
    TIMEOUT = auto()
    CONNECTION_ERROR = auto()
    MALFORMED_RESPONSE = auto()
    RATE_LIMITED = auto()  # HTTP 429
    REQUEST_REJECTED = auto()  # an answer below 400 that is no success (a redirect)
    BUDGET_CONTENDED = auto()  # the budget changed under every booking attempt
    MAPPING_WRITE_INCOMPLETE = auto()
    # Store creation: CreateStore, Ecwid's POST /stores.
    MERCHANT_EMAIL_EXISTS = auto()
    STORE_CREATE_ANSWER_LOST = auto()
    INVALID_MERCHANT = auto()
    STORE_CREATE_NOT_ALLOWED = auto()
    STORE_CREATE_ANSWER_MALFORMED = auto()
    STORE_NOT_CREATED = auto()  # a job that ended before its store was made, with no code of its own
    EMAIL_ALREADY_EXISTS = auto()  # Ecwid's 409: CreateStore turns it into MERCHANT_EMAIL_EXISTS or ..._LOST
    # Ecwid's Reseller API.
    RESELLER_KEY_REFUSED = auto()  # 403 on `stores`: the key is wrong
    RESELLER_STORE_FORBIDDEN = auto()  # 403 on a store: not the partner's (or the key is wrong)
    RESELLER_STORE_NOT_FOUND = auto()  # 404: no such store (or deleted)
    RESELLER_BAD_REQUEST = auto()  # 400 / 412: a parameter Ecwid refused
    RESELLER_TOO_MANY_STORES = auto()  # more matches than a lookup pages through
    # The store profile: PersonalizeStore, Ecwid's PUT /{storeId}/profile.
    PROFILE_INVALID = auto()  # 400
    PROFILE_TOKEN_INVALID = auto()  # 401
    PROFILE_NOT_ALLOWED = auto()  # 402
    PROFILE_UPDATE_FORBIDDEN = auto()  # 403
    PROFILE_STORE_NOT_FOUND = auto()  # 404
    # Secrets (read_secret: <what>_MISSING, _INVALID, _UNAVAILABLE) and store tokens.
    CREDENTIALS_MISSING = auto()
    CREDENTIALS_INVALID = auto()
    CREDENTIALS_UNAVAILABLE = auto()
    STORE_SECRET_MISSING = auto()  # no token kept for the store: neither in the table nor an old secret
    STORE_SECRET_INVALID = auto()
    STORE_SECRET_UNAVAILABLE = auto()
    STORE_TOKEN_UNKNOWN = auto()  # found after a lost creation answer: its token never came
    STORE_TOKEN_UNREADABLE = auto()
    STORE_TOKENS_UNAVAILABLE = auto()
    # An outcome event that an operator's cancel could not publish (the job's eventFailures).
    PUT_EVENTS_FAILED = auto()

    @property
    def retryable(self) -> bool:
        return self in RETRYABLE


# The codes worth another try (raised as EcwidRetryableError): Ecwid's or AWS's passing trouble.
RETRYABLE = frozenset(
    {
        ErrorCode.SOURCE_NOT_RESPONDING,
        ErrorCode.UNKNOWN_INTERNAL_ERROR,
        ErrorCode.UNKNOWN_IMPORT_FAILED_TO_START,
        ErrorCode.TIMEOUT,
        ErrorCode.CONNECTION_ERROR,
        ErrorCode.MALFORMED_RESPONSE,
        ErrorCode.RATE_LIMITED,
        ErrorCode.BUDGET_CONTENDED,
        ErrorCode.MAPPING_WRITE_INCOMPLETE,
        ErrorCode.CREDENTIALS_UNAVAILABLE,
        ErrorCode.STORE_SECRET_UNAVAILABLE,
        ErrorCode.STORE_TOKENS_UNAVAILABLE,
    }
)


class HttpErrorFamily(_Named):
    """The codes named by an HTTP status (``HTTP_503``, ``PROFILE_HTTP_409``): retried or not by
    the status (``error_for_status``)."""

    HTTP = auto()  # any Ecwid REST call
    PROFILE_HTTP = auto()
    INSTANT_SITE_HTTP = auto()
    RESELLER_HTTP = auto()

    def code(self, status: int) -> str:
        return f"{self}_{status}"


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
        super().__init__(ErrorCode.RATE_LIMITED, message, 429)
        self.retry_after = retry_after


class EcwidTerminalError(CloneError):
    """Retrying cannot help: the request, the stores or the app are wrong."""


class TargetBusyError(EcwidTerminalError):
    """TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET, with the running ticket it names."""

    def __init__(self, message: str, running_ticket: str | None, http_status: int | None = None):
        super().__init__(ErrorCode.TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET, message, http_status)
        self.running_ticket = running_ticket


class MappingWriteError(CloneError):
    """Some mapping items stayed unprocessed after every retry; the state machine retries."""

    retryable = True

    def __init__(self, unprocessed: int):
        super().__init__(ErrorCode.MAPPING_WRITE_INCOMPLETE, f"{unprocessed} mapping items were not written")


# Every code in the spec's error table, and what it means for us.
ECWID_CLONE_CODES = frozenset(
    {
        ErrorCode.AUTH_APP_DOESNT_EXIST,
        ErrorCode.SOURCE_NOT_FOUND,
        ErrorCode.TARGET_NOT_FOUND,
        ErrorCode.TARGET_NOT_ALLOWED_TO_CLONE,
        ErrorCode.TARGET_CATEGORIES_NOT_EMPTY,
        ErrorCode.TARGET_PRODUCT_TYPES_NOT_EMPTY,
        ErrorCode.TARGET_PRODUCTS_NOT_EMPTY,
        ErrorCode.TARGET_CATEGORIES_LIMIT,
        ErrorCode.TARGET_PRODUCTS_LIMIT,
        ErrorCode.TARGET_DESTINATION_ZONES_LIMIT,
        ErrorCode.TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET,
        ErrorCode.SOURCE_NOT_RESPONDING,
        ErrorCode.UNKNOWN_INTERNAL_ERROR,
        ErrorCode.UNKNOWN_IMPORT_FAILED_TO_START,
    }
)
RETRYABLE_CODES = ECWID_CLONE_CODES & RETRYABLE
TERMINAL_CODES = ECWID_CLONE_CODES - RETRYABLE
TARGET_NOT_EMPTY_CODES = frozenset(
    {
        ErrorCode.TARGET_PRODUCTS_NOT_EMPTY,
        ErrorCode.TARGET_CATEGORIES_NOT_EMPTY,
        ErrorCode.TARGET_PRODUCT_TYPES_NOT_EMPTY,
    }
)

# The codes CreateStore ends a clone with (steps/create_store.py, ecwid/store_creation.py).
STORE_CREATION_ERROR_CODES = frozenset(
    {
        ErrorCode.MERCHANT_EMAIL_EXISTS,
        ErrorCode.STORE_CREATE_ANSWER_LOST,
        ErrorCode.INVALID_MERCHANT,
        ErrorCode.STORE_CREATE_NOT_ALLOWED,
        ErrorCode.STORE_CREATE_ANSWER_MALFORMED,
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
    if code == ErrorCode.TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET:
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
