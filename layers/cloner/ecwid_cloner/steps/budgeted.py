"""How a step calls Ecwid: within its turn of the shared request budget."""

from __future__ import annotations

from ecwid_cloner.ecwid.budget import RequestGate


def open_gate() -> RequestGate:
    return RequestGate(None)
