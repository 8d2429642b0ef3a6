"""A refusal the sandbox answers as Ecwid's REST APIs do: the status, and {"errorMessage"}."""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    def body(self) -> dict:
        return {"errorMessage": self.message}


class InstantSiteError(Refusal):
    """An Instant Site API refusal."""


class ProfileError(Refusal):
    """A refused store profile call (REST v3)."""
