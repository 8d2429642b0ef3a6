"""Ecwid error codes -> exception classes, and the class names the state machine matches."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

from ecwid_cloner import errors
from ecwid_cloner.errors import (
    RETRYABLE_ERROR_NAMES,
    CloneError,
    EcwidRateLimitedError,
    EcwidRetryableError,
    EcwidTerminalError,
    MappingWriteError,
    TargetBusyError,
    error_for_code,
)

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "clone_store.asl.json"

# The spec's error table (ecwid-clone-api.md), code -> message, in the spec's words.
# SOURCE_NOT_RESPONDING is listed twice in the spec ("Source store ..." and "Target store
# failed to respond"); both rows are kept as separate cases below.
SPEC_TABLE = [
    ("AUTH_APP_DOESNT_EXIST", "Application does not exist"),
    ("TARGET_CATEGORIES_LIMIT", "Target store categories limit will be exceeded"),
    ("TARGET_PRODUCTS_LIMIT", "Target store products limit will be exceeded"),
    ("TARGET_DESTINATION_ZONES_LIMIT", "Target store destination zones count will be exceeded"),
    ("UNKNOWN_IMPORT_FAILED_TO_START", "Failed to start import"),
    ("SOURCE_NOT_FOUND", "Store #1003 not found"),
    ("UNKNOWN_INTERNAL_ERROR", "Internal error"),
    ("SOURCE_NOT_RESPONDING", "Source store failed to respond"),
    ("TARGET_NOT_ALLOWED_TO_CLONE", "Target store is not allowed to clone"),
    ("TARGET_NOT_FOUND", "Store #9001 not found"),
    ("SOURCE_NOT_RESPONDING", "Target store failed to respond"),
    ("TARGET_CATEGORIES_NOT_EMPTY", "Target store categories should be empty"),
    ("TARGET_PRODUCT_TYPES_NOT_EMPTY", "Target store product types should be empty"),
    ("TARGET_PRODUCTS_NOT_EMPTY", "Target store products should be empty"),
    (
        "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET",
        "Not allowed to clone to #99928003 while previous clone is still in progress "
        "with ticket 4a096838-0272-46ae-9c83-35242215161b",
    ),
]
SPEC_CODES = sorted({code for code, _ in SPEC_TABLE})
RETRYABLE_SPEC_CODES = {"SOURCE_NOT_RESPONDING", "UNKNOWN_INTERNAL_ERROR", "UNKNOWN_IMPORT_FAILED_TO_START"}
TERMINAL_SPEC_CODES = set(SPEC_CODES) - RETRYABLE_SPEC_CODES
BUSY_MESSAGE = dict(SPEC_TABLE)["TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"]
BUSY_TICKET = "4a096838-0272-46ae-9c83-35242215161b"


def error_classes() -> dict[str, type[CloneError]]:
    """Every CloneError class that errors.py defines, by name."""
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, CloneError) and value.__module__ == errors.__name__
    }


def test_the_spec_table_has_fourteen_distinct_codes():
    # Guards the table above: a typo in a code would silently drop a case.
    assert len(SPEC_CODES) == 14
    assert TERMINAL_SPEC_CODES >= {"AUTH_APP_DOESNT_EXIST", "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"}


@pytest.mark.parametrize(("code", "message"), [row for row in SPEC_TABLE if row[0] in RETRYABLE_SPEC_CODES])
def test_retryable_spec_codes_map_to_the_retryable_error(code, message):
    error = error_for_code(code, message, 400)
    assert type(error) is EcwidRetryableError
    assert error.retryable is True
    assert (error.code, error.message, error.http_status) == (code, message, 400)
    assert str(error) == f"{code}: {message}"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        row
        for row in SPEC_TABLE
        if row[0] in TERMINAL_SPEC_CODES and row[0] != "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"
    ],
)
def test_terminal_spec_codes_map_to_the_terminal_error(code, message):
    error = error_for_code(code, message, 200)
    assert type(error) is EcwidTerminalError
    assert error.retryable is False
    assert not isinstance(error, EcwidRetryableError)
    assert (error.code, error.message, error.http_status) == (code, message, 200)
    assert str(error) == f"{code}: {message}"


def test_auth_app_doesnt_exist_is_never_retried():
    error = error_for_code("AUTH_APP_DOESNT_EXIST", "Application does not exist")
    assert error.retryable is False
    assert type(error).__name__ not in RETRYABLE_ERROR_NAMES


def test_target_busy_names_the_running_ticket_of_the_spec_example():
    error = error_for_code("TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET", BUSY_MESSAGE, 400)
    assert type(error) is TargetBusyError
    assert isinstance(error, EcwidTerminalError)
    assert error.retryable is False
    assert error.running_ticket == BUSY_TICKET
    assert error.code == "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"
    assert error.message == BUSY_MESSAGE
    assert error.http_status == 400


def test_target_busy_without_a_ticket_in_the_message_has_no_running_ticket():
    error = error_for_code("TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET", "Target store is busy")
    assert type(error) is TargetBusyError
    assert error.running_ticket is None


@pytest.mark.parametrize("code", ["SOMETHING_NEW_FROM_ECWID", "", "source_not_responding"])
def test_unknown_codes_are_terminal(code):
    error = error_for_code(code, "whatever", 400)
    assert type(error) is EcwidTerminalError
    assert error.retryable is False
    assert error.code == code


def test_the_module_code_sets_match_the_spec():
    assert errors.RETRYABLE_CODES == RETRYABLE_SPEC_CODES
    assert errors.TERMINAL_CODES == TERMINAL_SPEC_CODES
    assert not errors.RETRYABLE_CODES & errors.TERMINAL_CODES


def test_rate_limited_and_mapping_errors_are_retryable_with_their_own_codes():
    limited = EcwidRateLimitedError("slow down", 7.5)
    assert (limited.code, limited.http_status, limited.retry_after, limited.retryable) == (
        "RATE_LIMITED",
        429,
        7.5,
        True,
    )
    write = MappingWriteError(3)
    assert write.code == "MAPPING_WRITE_INCOMPLETE"
    assert write.retryable is True
    assert "3" in write.message


def test_retryable_error_names_are_exactly_the_retryable_classes():
    classes = error_classes()
    for name in RETRYABLE_ERROR_NAMES:
        assert name in classes, f"{name} is not a class of errors.py"
        assert classes[name].retryable is True, name
    retryable = {name for name, cls in classes.items() if cls.retryable}
    assert retryable == set(RETRYABLE_ERROR_NAMES)


# -- the state machine's contract ------------------------------------------------------


def load_asl() -> dict:
    return json.loads(ASL.read_text())


def retried_names(state_name: str) -> set[str]:
    state = load_asl()["States"][state_name]
    return {name for retrier in state.get("Retry", []) for name in retrier["ErrorEquals"]}


def test_every_retryable_name_is_retried_by_start_or_check():
    retried = retried_names("StartClone") | retried_names("CheckCloneStatus")
    missing = set(RETRYABLE_ERROR_NAMES) - retried
    assert not missing, f"retryable errors no Retry matches: {missing}"


def test_ecwid_retryable_errors_are_retried_by_both_ecwid_calling_states():
    # Step Functions matches errorType exactly: a subclass is not matched by its base's name.
    for state_name in ("StartClone", "CheckCloneStatus"):
        assert {"EcwidRetryableError", "EcwidRateLimitedError"} <= retried_names(state_name), state_name


def test_mapping_write_error_is_retried_where_the_mapping_is_written():
    assert "MappingWriteError" in retried_names("CheckCloneStatus")


@pytest.mark.parametrize("state_name", ["StartClone", "CheckCloneStatus"])
def test_no_terminal_class_is_retried(state_name):
    terminal = {name for name, cls in error_classes().items() if not cls.retryable}
    assert {"EcwidTerminalError", "TargetBusyError"} <= terminal
    retried = retried_names(state_name)
    assert not retried & terminal
    # A catch-all retrier would retry terminal errors too.
    assert "States.ALL" not in retried
    assert "States.TaskFailed" not in retried


@pytest.mark.parametrize("state_name", ["StartClone", "CheckCloneStatus"])
def test_terminal_errors_are_caught_and_recorded(state_name):
    state = load_asl()["States"][state_name]
    catchers = state.get("Catch", [])
    assert any("States.ALL" in c["ErrorEquals"] and c["Next"] == "RecordFailure" for c in catchers)


def test_every_error_name_in_the_asl_retriers_exists():
    known = set(error_classes())
    for state_name in ("StartClone", "CheckCloneStatus"):
        for name in retried_names(state_name):
            if "." not in name:  # States.* and Lambda.* are AWS's names
                assert name in known, f"{state_name} retries unknown error {name}"


def _task_states(states: dict) -> dict[str, dict]:
    found = {}
    for name, state in states.items():
        if state.get("Type") == "Task":
            found[name] = state
        for branch in state.get("Branches", []):
            found |= _task_states(branch["States"])
    return found


def test_every_lambda_task_retries_lambdas_own_faults_with_the_same_block():
    # The block is written out in each task (ASL has no way to share it): kept identical here.
    # A Lambda task either has it or retries States.ALL, which covers Lambda's faults too.
    tasks = {
        name: state for name, state in _task_states(load_asl()["States"]).items() if "FunctionArn" in state["Resource"]
    }
    blocks = {}
    for name, state in tasks.items():
        retries = state.get("Retry", [])
        lambda_blocks = [retry for retry in retries if "Lambda.ServiceException" in retry["ErrorEquals"]]
        assert lambda_blocks or any(retry["ErrorEquals"] == ["States.ALL"] for retry in retries), name
        if lambda_blocks:
            blocks[name] = lambda_blocks[0]
    assert len(blocks) == 9, sorted(blocks)
    first = next(iter(blocks.values()))
    assert all(block == first for block in blocks.values()), blocks
    assert {"Lambda.TooManyRequestsException", "Lambda.Unknown"} <= set(first["ErrorEquals"])


# -- the registry and the operators' table (docs/operations.md) -----------------------------

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
CODE = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")  # ERROR_CODE
FAMILY_CODE = re.compile(r"([A-Z][A-Z_]*)_(?:<status>|[1-5]xx)")  # HTTP_5xx, PROFILE_HTTP_<status>
AWS_ERROR = re.compile(r"[A-Z][A-Za-z]*\.[A-Za-z.]+")  # States.Runtime, Sandbox.Timedout: not ours


def documented_codes() -> list[str]:
    """Every `code` in the first column of docs/operations.md's tables headed errorCode."""
    codes: list[str] = []
    in_table = False
    for line in OPERATIONS.read_text().splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        first = line.strip("|").split("|")[0].strip()
        if first == "errorCode":
            in_table = True
        elif in_table and not set(first) <= set("-: "):
            codes.extend(re.findall(r"`([^`]+)`", first))
    return codes


def asl_error_names() -> set[str]:
    """The error names the state machines match (ErrorEquals): what Lambda and Step Functions raise."""
    names: set[str] = set()
    for definition in (ROOT / "statemachine").glob("*.asl.json"):
        text = definition.read_text()
        for match in re.finditer(r'"ErrorEquals":\s*(\[[^\]]*\])', text):
            names.update(json.loads(match.group(1)))
    return names


def test_every_registered_code_is_explained_to_operators_and_nothing_else():
    documented = documented_codes()
    assert len(documented) >= 40, "the tables were found"
    codes = {code for code in documented if CODE.fullmatch(code)}
    families = {match.group(1) for code in documented if (match := FAMILY_CODE.fullmatch(code))}
    assert sorted(set(errors.ErrorCode) - codes) == [], "registered, not in docs/operations.md's table"
    assert sorted(codes - set(errors.ErrorCode)) == [], "in docs/operations.md's table, not registered"
    assert families == set(errors.HttpErrorFamily)


def test_the_codes_the_state_machine_records_as_they_come_are_named_as_such():
    # A step that fails with no code of ours (a Lambda timeout, a bug) ends with the error's name
    # (RecordFailure): the table shows them as "anything else", each one Step Functions' or the ASL's own.
    aws_names = {code for code in documented_codes() if AWS_ERROR.fullmatch(code)}
    assert aws_names, "the table's catch-all row names some"
    known = asl_error_names()
    assert {name for name in aws_names if not name.startswith("States.") and name not in known} == set()
    assert not {name for name in known if CODE.fullmatch(name)} - set(errors.ErrorCode), "the ASL matches no code"
    ours = {name for name in known if not AWS_ERROR.fullmatch(name)}
    assert ours <= set(error_classes()), "the ASL matches our errors by class name, never by code"


def test_every_registered_code_has_one_class():
    assert errors.RETRYABLE <= set(errors.ErrorCode)
    assert errors.RETRYABLE_CODES | errors.TERMINAL_CODES == errors.ECWID_CLONE_CODES
    for code in errors.ErrorCode:
        assert code.retryable is (code in errors.RETRYABLE), code
        assert code == code.name and str(code) == code.name and json.dumps(code) == f'"{code.name}"'
    assert errors.HttpErrorFamily.RESELLER_HTTP.code(503) == "RESELLER_HTTP_503"


def test_every_code_is_raised_as_its_class_says():
    # Where the layer raises EcwidRetryableError(ErrorCode.X, ...) or EcwidTerminalError(ErrorCode.X, ...),
    # X's class in the registry agrees; read_secret's codes by their suffix.
    raised: dict[str, set[str]] = {"EcwidRetryableError": set(), "EcwidTerminalError": set()}
    for module in (ROOT / "layers" / "cloner" / "ecwid_cloner").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in raised
                and node.args
                and isinstance(node.args[0], ast.Attribute)
                and isinstance(node.args[0].value, ast.Name)
                and node.args[0].value.id == "ErrorCode"
            ):
                raised[node.func.id].add(node.args[0].attr)
    assert len(raised["EcwidRetryableError"]) >= 4 and len(raised["EcwidTerminalError"]) >= 10
    assert {name for name in raised["EcwidRetryableError"] if not errors.ErrorCode[name].retryable} == set()
    assert {name for name in raised["EcwidTerminalError"] if errors.ErrorCode[name].retryable} == set()
    for secret in ("CREDENTIALS", "STORE_SECRET"):
        assert errors.ErrorCode(f"{secret}_UNAVAILABLE").retryable
        assert (
            not errors.ErrorCode(f"{secret}_MISSING").retryable and not errors.ErrorCode(f"{secret}_INVALID").retryable
        )
