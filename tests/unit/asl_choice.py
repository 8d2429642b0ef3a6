"""Where a Choice state of statemachine/clone_store.asl.json sends a state, in microseconds: the
few comparison operators that ASL uses (And, Or, Not, IsPresent, StringEquals) over plain
``$.a.b`` paths. An operator or path this does not know fails the test instead of guessing."""

from __future__ import annotations

import functools
import json
from typing import Any

from local.template_model import ROOT

_MISSING = object()


@functools.cache
def _states() -> dict[str, Any]:
    return json.loads((ROOT / "statemachine" / "clone_store.asl.json").read_text())["States"]


def next_state(choice: str, state: dict[str, Any]) -> str:
    """The state that the Choice state ``choice`` goes to with ``state`` as its input."""
    definition = _states()[choice]
    assert definition["Type"] == "Choice", choice
    for rule in definition["Choices"]:
        if _holds(rule, state):
            return rule["Next"]
    return definition["Default"]


def _holds(rule: dict[str, Any], state: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_holds(inner, state) for inner in rule["And"])
    if "Or" in rule:
        return any(_holds(inner, state) for inner in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"], state)
    value = _value(state, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not _MISSING) is rule["IsPresent"]
    if "StringEquals" in rule:
        # Step Functions fails the execution (States.Runtime) on a comparison of a missing path.
        assert value is not _MISSING, f"{rule['Variable']} is missing: States.Runtime"
        return isinstance(value, str) and value == rule["StringEquals"]
    raise AssertionError(f"an operator asl_choice does not know: {rule}")


def _value(state: dict[str, Any], path: str) -> Any:
    assert path.startswith("$.") and "[" not in path, f"a path asl_choice does not know: {path}"
    node: Any = state
    for key in path[2:].split("."):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node
