"""load_credentials on moto's Secrets Manager."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from ecwid_cloner.ecwid import credentials as credentials_module
from ecwid_cloner.ecwid.credentials import load_credentials
from ecwid_cloner.ecwid.transport import EcwidCredentials
from ecwid_cloner.errors import EcwidTerminalError

SECRET_NAME = "store-cloner/ecwid-app"
CLIENT_ID = "client-id-4711"
CLIENT_SECRET = "client-secret-value-never-shown"


@pytest.fixture(autouse=True)
def clear_parameter_caches():
    parameters.clear_caches()
    yield
    parameters.clear_caches()


@pytest.fixture
def secrets(mocked_aws):
    return boto3.client("secretsmanager", region_name="us-east-1")


def put_secret(secrets, value: str, name: str = SECRET_NAME) -> None:
    secrets.create_secret(Name=name, SecretString=value)


def test_reads_client_id_and_secret(secrets):
    put_secret(secrets, json.dumps({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))
    creds = load_credentials(SECRET_NAME)
    assert creds == EcwidCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert creds.headers() == {"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": CLIENT_SECRET}
    assert CLIENT_SECRET not in repr(creds)


def test_extra_fields_are_ignored_and_values_are_strings(secrets):
    put_secret(secrets, json.dumps({"clientId": 12345, "clientSecret": CLIENT_SECRET, "note": "x"}))
    creds = load_credentials(SECRET_NAME)
    assert creds.client_id == "12345"
    assert creds.client_secret == CLIENT_SECRET


@pytest.mark.parametrize(
    ("value", "missing", "present_value"),
    [
        ({"clientSecret": CLIENT_SECRET}, "clientId", CLIENT_SECRET),
        ({"clientId": CLIENT_ID}, "clientSecret", CLIENT_ID),
        ({"clientId": "", "clientSecret": CLIENT_SECRET}, "clientId", CLIENT_SECRET),
        ({"clientId": CLIENT_ID, "clientSecret": ""}, "clientSecret", CLIENT_ID),
        ({"clientId": CLIENT_ID, "clientSecret": None}, "clientSecret", CLIENT_ID),
    ],
)
def test_a_missing_field_is_terminal_and_names_it_without_the_other_value(secrets, value, missing, present_value):
    put_secret(secrets, json.dumps(value))
    with pytest.raises(EcwidTerminalError) as caught:
        load_credentials(SECRET_NAME)
    error = caught.value
    assert type(error) is EcwidTerminalError
    assert error.code == "CREDENTIALS_INVALID"
    assert missing in error.message
    assert SECRET_NAME in error.message
    for text in (str(error), repr(error), error.message, repr(error.args)):
        assert present_value not in text
        assert CLIENT_SECRET not in text


@pytest.mark.parametrize("value", ["not json at all", "{clientId: x}", f"clientSecret={CLIENT_SECRET}"])
def test_a_secret_that_is_not_json_is_terminal(secrets, value):
    put_secret(secrets, value)
    with pytest.raises(EcwidTerminalError) as caught:
        load_credentials(SECRET_NAME)
    error = caught.value
    assert error.code == "CREDENTIALS_INVALID"
    assert SECRET_NAME in error.message
    assert CLIENT_SECRET not in str(error)
    assert error.__cause__ is None


@pytest.mark.parametrize("value", ['["a", "b"]', '"a string"', "42", "null"])
def test_a_secret_that_is_json_but_not_an_object_is_terminal(secrets, value):
    put_secret(secrets, value)
    with pytest.raises(EcwidTerminalError) as caught:
        load_credentials(SECRET_NAME)
    assert caught.value.code == "CREDENTIALS_INVALID"


def test_the_value_is_cached_for_five_minutes(secrets):
    put_secret(secrets, json.dumps({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))
    assert load_credentials(SECRET_NAME).client_secret == CLIENT_SECRET
    secrets.put_secret_value(
        SecretId=SECRET_NAME, SecretString=json.dumps({"clientId": CLIENT_ID, "clientSecret": "rotated"})
    )
    assert load_credentials(SECRET_NAME).client_secret == CLIENT_SECRET  # still cached
    assert credentials_module.CACHE_SECONDS == 300
    parameters.clear_caches()
    assert load_credentials(SECRET_NAME).client_secret == "rotated"


def test_missing_secret_is_terminal_and_names_it(secrets):
    with pytest.raises(EcwidTerminalError) as caught:
        load_credentials("store-cloner/does-not-exist")
    assert caught.value.code == "CREDENTIALS_MISSING"
    assert "store-cloner/does-not-exist" in caught.value.message


def test_unreadable_secret_is_retryable(monkeypatch):
    from ecwid_cloner.errors import EcwidRetryableError

    def throttled(*args, **kwargs):
        raise parameters.exceptions.GetParameterError("An error occurred (ThrottlingException): Rate exceeded")

    monkeypatch.setattr(parameters, "get_secret", throttled)
    with pytest.raises(EcwidRetryableError) as caught:
        load_credentials("store-cloner/app")
    assert caught.value.code == "CREDENTIALS_UNAVAILABLE"
