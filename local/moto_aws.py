"""moto in this process: fake credentials, the mock, and one AWS call at a time."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from local.template_model import REGION


class Environment:
    """Variables set for the stack's life and put back as they were when it stops."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, **env: str) -> None:
        for name, value in env.items():
            self._saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


class MotoAws:
    """Every boto3 call of the process answered by moto (nothing reaches AWS)."""

    def __init__(self, environment: Environment) -> None:
        self._environment = environment
        self._mock: Any = None
        self._restore_stubber: Callable[[], None] | None = None

    def start(self) -> None:
        from moto import mock_aws

        self._environment.set(
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            MOTO_ALLOW_NONEXISTENT_REGION="true",
        )
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self._restore_stubber = serialize_moto_calls()

    def stop(self) -> None:
        if self._mock:
            self._mock.stop()
        if self._restore_stubber:
            self._restore_stubber()


def serialize_moto_calls() -> Callable[[], None]:
    """One AWS call at a time into moto's backends; returns what undoes it.

    Real AWS serves concurrent Lambdas; moto's in-memory backends are not
    thread-safe (a Query iterating a table while a PutItem grows it raises
    "dictionary changed size during iteration"), and here every handler
    runs in a thread of this process.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__
    lock = threading.RLock()

    def serialized(stubber, event_name, request, **kwargs):
        with lock:
            return original(stubber, event_name, request, **kwargs)

    BotocoreStubber.__call__ = serialized  # type: ignore[method-assign,assignment]

    def restore() -> None:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]

    return restore
