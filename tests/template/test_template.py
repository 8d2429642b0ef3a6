"""template.yaml, the ASL and the handlers fit together, and the tools accept them."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.template_model import ROOT, TemplateModel

ASL = ROOT / "statemachine" / "clone_store.asl.json"
TOOLS = Path(sys.executable).parent  # cfn-lint and sam live in the venv


def tool(name: str) -> str:
    path = TOOLS / name
    return str(path) if path.exists() else (shutil.which(name) or pytest.fail(f"{name} is not installed"))


def run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env_path = f"{TOOLS}:{subprocess.os.environ.get('PATH', '')}"  # sam build needs python3.13 on PATH
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**subprocess.os.environ, "PATH": env_path, "SAM_CLI_TELEMETRY": "0"})


def test_cfn_lint_is_clean():
    result = run(tool("cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes():
    result = run(tool("sam"), "validate", "--lint", "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_build_succeeds(tmp_path):
    build_dir = tmp_path / "build"
    result = run(tool("sam"), "build", "--build-dir", str(build_dir), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
    model = TemplateModel()
    for logical_id in model.functions():
        assert (build_dir / logical_id / "app.py").is_file()
        # Functions carry their code only; dependencies live in the layer.
        assert not (build_dir / logical_id / "requests").exists()
    layer = build_dir / "ClonerLayer" / "python"
    for package in ("ecwid_cloner", "aws_lambda_powertools", "requests"):
        assert (layer / package).is_dir(), package


def test_every_handler_imports_and_is_callable():
    sys.path.insert(0, str(ROOT / "layers" / "cloner"))
    for logical_id, spec in TemplateModel().functions().items():
        path = spec.code_dir / f"{spec.module}.py"
        module_spec = importlib.util.spec_from_file_location(f"check_{logical_id}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        assert callable(getattr(module, spec.handler)), logical_id


def test_asl_substitutions_match_the_template():
    used = set(re.findall(r"\$\{(\w+)\}", ASL.read_text()))
    _, _, substitutions = TemplateModel().state_machine()
    assert used == set(substitutions)


def test_asl_is_valid_json_with_reachable_states():
    definition = json.loads(ASL.read_text())
    states = definition["States"]
    targets = {definition["StartAt"]}
    for state in states.values():
        targets.update(filter(None, [state.get("Next"), state.get("Default")]))
        targets.update(choice["Next"] for choice in state.get("Choices", []))
        targets.update(catch["Next"] for catch in state.get("Catch", []))
    assert targets == set(states), "every state is reachable and every Next exists"


def test_template_environment_names_the_settings_the_code_reads():
    from ecwid_cloner.config import Settings

    env = TemplateModel().doc["Globals"]["Function"]["Environment"]["Variables"]
    Settings.from_env({name: "1" for name in env})  # raises KeyError if a required one is missing


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_handlers_import_only_the_domain_package():
    for app in (ROOT / "functions").glob("*/app.py"):
        assert imports_of(app) <= {"ecwid_cloner", "aws_lambda_powertools", "__future__", "json", "typing"}, app


def test_domain_never_imports_handlers_or_local():
    for module in (ROOT / "layers" / "cloner" / "ecwid_cloner").glob("*.py"):
        assert not imports_of(module) & {"local", "functions", "app", "moto"}, module


def policy_statements(resource: dict) -> list[dict]:
    statements = []
    for policy in resource["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            statements.extend(policy["Statement"])
    return statements


def test_functions_get_scoped_statements_only():
    model = TemplateModel()
    resources = {**model.resources("AWS::Serverless::Function"), **model.resources("AWS::Serverless::StateMachine")}
    for logical_id, resource in resources.items():
        for policy in resource["Properties"].get("Policies", []):
            name = next(iter(policy)) if isinstance(policy, dict) else policy
            # SAM's CRUD templates grant Scan and DeleteItem; nothing here needs them.
            assert name in ("Statement", "LambdaInvokePolicy"), (logical_id, name)
        for statement in policy_statements(resource):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(action.endswith("*") for action in actions), (logical_id, statement)
            if statement["Resource"] == "*":
                assert all(action.startswith("logs:") for action in actions), (logical_id, statement["Sid"])


def test_every_alarm_notifies_the_alarm_topic():
    alarms = TemplateModel().resources("AWS::CloudWatch::Alarm")
    assert {"SignupDeadLetterAlarm", "CloneExecutionsFailedAlarm", "CloneExecutionsTimedOutAlarm", "LambdaErrorsAlarm"} <= set(alarms)
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"], logical_id


def test_outputs_name_what_an_operator_needs():
    outputs = set(TemplateModel().doc["Outputs"])
    assert {"ApiUrl", "SignupQueueUrl", "SignupDeadLetterQueueUrl", "CloneStoreStateMachineArn",
            "JobsTableName", "MappingsTableName", "AlarmTopicArn", "DashboardName"} <= outputs


def secret_resources(resource: dict) -> list[str]:
    found = []
    for statement in policy_statements(resource):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "secretsmanager:GetSecretValue" in actions:
            found.append(json.dumps(statement["Resource"]))
    return found


def test_only_the_instant_site_lambda_reads_store_secrets_and_only_under_the_prefix():
    functions = TemplateModel().resources("AWS::Serverless::Function")
    instant_site = secret_resources(functions["CloneInstantSiteFunction"])
    assert instant_site == [json.dumps({"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${StoreSecretPrefix}*"})]
    for logical_id, resource in functions.items():
        if logical_id != "CloneInstantSiteFunction":
            assert all("StoreSecretPrefix" not in found for found in secret_resources(resource)), logical_id
    prefix_rule = TemplateModel().doc["Parameters"]["StoreSecretPrefix"]["AllowedPattern"]
    # The prefix ends in "/", so "<prefix>*" cannot reach a sibling like "store-cloner/stores-admin".
    assert prefix_rule.endswith("/$")


SECRET_WRITES = {"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:TagResource",
                 "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret"}
STORE_SECRETS = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${StoreSecretPrefix}*"}


def test_only_create_store_writes_secrets_and_only_the_per_store_ones():
    functions = TemplateModel().resources("AWS::Serverless::Function")
    for logical_id, resource in functions.items():
        writes = [s for s in policy_statements(resource)
                  if SECRET_WRITES & set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
        if logical_id == "CreateStoreFunction":
            assert len(writes) == 1 and writes[0]["Resource"] == STORE_SECRETS
            assert set(writes[0]["Action"]) == {"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
                                                "secretsmanager:TagResource"}
        else:
            assert writes == [], logical_id


def test_events_are_published_by_the_state_machine_to_its_bus_only():
    model = TemplateModel()
    machine = model.resources("AWS::Serverless::StateMachine")["CloneStoreStateMachine"]
    puts = [s for s in policy_statements(machine) if s["Action"] == "events:PutEvents"]
    assert len(puts) == 1
    assert puts[0]["Resource"]["Fn::If"][0] == "CreateEventBus"
    assert puts[0]["Resource"]["Fn::If"][1] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    for logical_id, function in model.resources("AWS::Serverless::Function").items():
        assert not any("events:" in json.dumps(s["Action"]) for s in policy_statements(function)), logical_id
    states = json.loads(ASL.read_text())["States"]
    publishers = {name for name, state in states.items() if state.get("Resource") == "arn:aws:states:::events:putEvents"}
    assert publishers == {"PublishStoreCreated", "PublishCompleted", "PublishFailed"}
    for name in publishers:
        entry = states[name]["Parameters"]["Entries"][0]
        assert entry["Source"] == "store-cloner" and entry["EventBusName"] == "${EventBusName}"
        # A failed publish is recorded and the outcome stands: never a path to a Fail state.
        catch = states[name]["Catch"][0]
        assert states[catch["Next"]]["Parameters"]["failedStep"] == "EVENTS"
        assert states[name]["ResultPath"] is None and states[catch["Next"]]["ResultPath"] is None


def test_every_outcome_reaches_its_event_before_the_end():
    states = json.loads(ASL.read_text())["States"]
    pointing_at = {}
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")] + [c.get("Next") for c in state.get("Choices", [])]
        targets += [c["Next"] for c in state.get("Catch", [])]
        for target in filter(None, targets):
            pointing_at.setdefault(target, set()).add(name)
    assert pointing_at["CloneCompleted"] == {"PublishCompleted", "RecordCompletedEventFailure"}
    assert pointing_at["CloneFailed"] == {"PublishFailed", "RecordFailedEventFailure"}


def test_failed_store_creations_and_unpublished_events_are_alarmed():
    alarms = TemplateModel().resources("AWS::CloudWatch::Alarm")
    assert alarms["StoreCreationsFailedAlarm"]["Properties"]["MetricName"] == "StoreCreationsFailed"
    assert alarms["EventsNotPublishedAlarm"]["Properties"]["MetricName"] == "EventsNotPublished"
