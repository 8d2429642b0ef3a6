"""record_failure.describe_caught_error: what RecordFailure makes of a Catch result."""

from __future__ import annotations

import json

import pytest

from ecwid_cloner.errors import EcwidRetryableError, MappingWriteError, error_for_code
from ecwid_cloner.steps.record_failure import describe_caught_error


def lambda_cause(error: BaseException) -> str:
    """The Cause Step Functions puts on a caught Lambda error: the runtime's error JSON."""
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": "5c6d2b8e-0000-4000-8000-000000000000",
            "stackTrace": ['  File "/var/task/app.py", line 12, in lambda_handler\n'],
        }
    )


def test_an_ecwid_error_gives_its_code_and_message():
    cause = json.dumps(
        {
            "errorMessage": "TARGET_PRODUCTS_NOT_EMPTY: Target store products should be empty",
            "errorType": "EcwidTerminalError",
        }
    )
    assert describe_caught_error({"Error": "EcwidTerminalError", "Cause": cause}) == (
        "TARGET_PRODUCTS_NOT_EMPTY",
        "Target store products should be empty",
    )


@pytest.mark.parametrize(
    "error",
    [
        error_for_code("AUTH_APP_DOESNT_EXIST", "Application does not exist"),
        error_for_code("SOURCE_NOT_FOUND", "Store #1003 not found"),
        error_for_code(
            "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET",
            "Not allowed to clone to #99928003 while previous clone is still in progress with ticket "
            "4a096838-0272-46ae-9c83-35242215161b",
        ),
        EcwidRetryableError("HTTP_503", "Ecwid answered POST with HTTP 503: retries exhausted", 503),
        MappingWriteError(12),
    ],
)
def test_every_error_of_ours_round_trips_through_the_lambda_cause(error):
    caught = {"Error": type(error).__name__, "Cause": lambda_cause(error)}
    assert describe_caught_error(caught) == (error.code, error.message)


def test_a_message_with_colons_keeps_everything_after_the_code():
    cause = json.dumps({"errorMessage": "CLONE_FAILED: step 2: images: timeout", "errorType": "CloneFailedError"})
    assert describe_caught_error({"Error": "CloneFailedError", "Cause": cause}) == (
        "CLONE_FAILED",
        "step 2: images: timeout",
    )


def test_a_cause_that_is_not_json_is_kept_as_the_message():
    caught = {"Error": "Lambda.Unknown", "Cause": "The Lambda function crashed before returning"}
    assert describe_caught_error(caught) == ("Lambda.Unknown", "The Lambda function crashed before returning")


@pytest.mark.parametrize("cause", ['["a", "b"]', "42", '"just a string"', "null"])
def test_a_cause_that_is_json_but_not_an_object_is_kept_as_the_message(cause):
    assert describe_caught_error({"Error": "Weird", "Cause": cause}) == ("Weird", cause)


def test_a_states_timeout_without_a_cause_is_named_by_its_error():
    assert describe_caught_error({"Error": "States.Timeout"}) == ("States.Timeout", "States.Timeout")
    assert describe_caught_error({"Error": "States.Timeout", "Cause": None}) == ("States.Timeout", "States.Timeout")
    assert describe_caught_error({"Error": "States.Timeout", "Cause": ""}) == ("States.Timeout", "States.Timeout")


def test_a_bug_is_recorded_under_its_error_name():
    caught = {"Error": "KeyError", "Cause": lambda_cause(KeyError("cloneId"))}
    assert describe_caught_error(caught) == ("KeyError", "'cloneId'")


@pytest.mark.parametrize(
    "error",
    [
        ValueError("invalid literal for int() with base 10: 'abc'"),
        TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
        RuntimeError("HTTP 500: upstream"),
        RuntimeError("boom: a lowercase one-word prefix"),
        KeyError("Item: not found"),
        AttributeError("'NoneType' object has no attribute 'get'"),
    ],
)
def test_a_bug_whose_message_has_a_colon_is_not_mistaken_for_an_ecwid_code(error):
    caught = {"Error": type(error).__name__, "Cause": lambda_cause(error)}
    assert describe_caught_error(caught) == (type(error).__name__, str(error))


def test_a_cause_without_an_error_message_falls_back_to_the_name():
    cause = json.dumps({"errorType": "Sandbox.Timedout"})
    assert describe_caught_error({"Error": "Sandbox.Timedout", "Cause": cause}) == (
        "Sandbox.Timedout",
        "Sandbox.Timedout",
    )


def test_an_empty_catch_result_is_an_unknown_error():
    assert describe_caught_error({}) == ("UNKNOWN_ERROR", "UNKNOWN_ERROR")


def test_a_huge_message_is_cut_to_1000_characters():
    cause = json.dumps({"errorMessage": "UNKNOWN_INTERNAL_ERROR: " + "x" * 5000})
    code, message = describe_caught_error({"Error": "EcwidRetryableError", "Cause": cause})
    assert code == "UNKNOWN_INTERNAL_ERROR"
    assert message == "x" * 1000
    name, message = describe_caught_error({"Error": "Bug", "Cause": "y" * 5000})
    assert (name, message) == ("Bug", "y" * 1000)
