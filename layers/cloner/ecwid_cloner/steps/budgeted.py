"""How a step calls Ecwid: within its turn of the shared request budget, the same way in every step.

Every request passes the RequestGate inside the HTTP client (ecwid.transport), which finds the
running step's turn in a context variable (ecwid.budget.step_budget): the clients' methods carry
no booking, and the local Lambda endpoint runs execution environments as threads of one process.
A step told to wait calls nothing more and returns its turn (``$.budget``: the booking and the
Wait state's seconds); the state machine waits, and the step's next run hands the booking back
and goes on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from ecwid_cloner.ecwid.budget import BudgetPolicy, BudgetWait, Priority, RequestGate, step_budget
from ecwid_cloner.state import BudgetTurn


@dataclass(frozen=True)
class Ran[T]:
    """What a step's Ecwid calls returned, and how far the budget's schedule ran ahead of
    now when they were booked (the backlog, which the polling policy reads)."""

    value: T
    backlog: float


def run_budgeted[T](
    turn: BudgetTurn | None,
    gate: RequestGate,
    call: Callable[[], T],
    *,
    requests: int = 1,
    hold: Priority | None = None,
) -> Ran[T] | BudgetTurn:
    """``call`` (the step's Ecwid requests, ``requests`` of them booked together) on ``turn``,
    the one the step's previous run was told to wait for (None: its first run).

    Returns what ``call`` returned, or the turn to wait for when the budget says wait. With
    ``hold``, the tokens are taken before ``call`` begins: a step whose call writes what a wait
    would have to undo (StartClone and CreateStore count their POSTs) waits before writing it.
    Any other error of ``call`` passes up as it is.
    """
    with step_budget(turn, requests) as budget:
        try:
            if hold is not None:
                gate.hold(hold)
            value = call()
        except BudgetWait as wait:
            policy = gate.budget.policy if gate.budget is not None else BudgetPolicy()
            next_turn, seconds = policy.next_turn(turn or BudgetTurn(), wait)
            # The Wait state sleeps whole seconds, at least one.
            return replace(next_turn, wait_seconds=max(1, math.ceil(seconds)))
    return Ran(value, budget.backlog)


def open_gate() -> RequestGate:
    """No budget: every request goes (a step built without the shared budget, in tests)."""
    return RequestGate(None)
