"""template.yaml, the ASL and the handlers fit together, and the tools accept them."""

from __future__ import annotations

import ast
import dataclasses
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
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**subprocess.os.environ, "PATH": env_path, "SAM_CLI_TELEMETRY": "0"},
    )


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
    for package in ("ecwid_cloner", "aws_lambda_powertools", "requests", "pydantic_core"):
        assert (layer / package).is_dir(), package
    # Built for Lambda's arm64, not for this machine.
    assert list((layer / "pydantic_core").glob("_pydantic_core.*aarch64*.so")), "pydantic_core is not built for arm64"
    assert_every_module_has_its_bytecode(layer)
    # What is deployed is what the tests ran: every distribution in the layer, at its pinned version.
    pinned = dict(
        line.split("==") for line in (ROOT / "layers/cloner/constraints.txt").read_text().splitlines() if "==" in line
    )
    shipped = {}
    for info in layer.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        shipped[name.lower().replace("_", "-")] = version
    assert shipped == pinned


def assert_every_module_has_its_bytecode(site: Path) -> None:
    """Every .py the layer ships has a python3.13 .pyc beside it that Lambda uses as it is:
    hash-based and unchecked (PEP 552 flags 0b01), so the zip's timestamps cannot make the
    runtime recompile it on a read-only /opt, and compiled from this very source."""
    sources = [path for path in site.rglob("*.py") if "__pycache__" not in path.parts]
    assert len(sources) > 500  # the dependencies are there, not only our package
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.name.endswith(".cpython-313.pyc") and compiled.is_file(), source
        header = compiled.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(header[4:8], "little") == 0b01, f"{source}: not unchecked-hash"
        assert header[8:16] == importlib.util.source_hash(source.read_bytes()), f"{source}: stale .pyc"


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

    doc = TemplateModel().doc
    env = doc["Globals"]["Function"]["Environment"]["Variables"]
    parameters = doc["Parameters"]
    # A parameter with allowed values gives each of them: the code reads every one the template allows.
    choices = {
        name: parameters[value["Ref"]]["AllowedValues"]
        for name, value in env.items()
        if isinstance(value, dict) and "AllowedValues" in parameters.get(value.get("Ref"), {})
    }
    field_of = {declared.metadata["variable"]: declared.name for declared in dataclasses.fields(Settings)}
    choices = {name: allowed for name, allowed in choices.items() if name in field_of}  # not Powertools' own
    assert choices  # FailedStoreAction's at least
    for name, allowed in choices.items():
        for value in allowed:
            read = Settings.from_env({**dict.fromkeys(env, "1"), **choices_first(choices), name: value})
            assert getattr(read, field_of[name]) == value
    Settings.from_env({**dict.fromkeys(env, "1"), **choices_first(choices)})  # KeyError if a required one is missing
    with pytest.raises(ValueError, match="must be one of keep, suspend, delete"):
        Settings.from_env({**dict.fromkeys(env, "1"), **choices_first(choices), "FAILED_STORE_ACTION": "suspnd"})


def choices_first(choices: dict[str, list[str]]) -> dict[str, str]:
    return {name: allowed[0] for name, allowed in choices.items()}


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
        assert imports_of(app) <= {
            "ecwid_cloner",
            "aws_lambda_powertools",
            "__future__",
            "json",
            "typing",
            "datetime",
            "functools",
        }, app


def test_domain_never_imports_handlers_or_local():
    for module in (ROOT / "layers" / "cloner" / "ecwid_cloner").rglob("*.py"):
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
            name = (
                ("Statement" if "Statement" in policy else next(iter(policy))) if isinstance(policy, dict) else policy
            )
            # SAM's CRUD templates grant Scan and DeleteItem; nothing here needs them.
            assert name in ("Statement", "LambdaInvokePolicy"), (logical_id, name)
        for statement in policy_statements(resource):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(action.endswith("*") for action in actions), (logical_id, statement)
            if statement["Resource"] == "*":
                assert all(action.startswith("logs:") for action in actions), (logical_id, statement["Sid"])


def test_every_alarm_notifies_the_alarm_topic():
    alarms = TemplateModel().resources("AWS::CloudWatch::Alarm")
    assert {
        "SignupDeadLetterAlarm",
        "CloneExecutionsFailedAlarm",
        "CloneExecutionsTimedOutAlarm",
        "LambdaErrorsAlarm",
    } <= set(alarms)
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"], logical_id


def test_outputs_name_what_an_operator_needs():
    outputs = set(TemplateModel().doc["Outputs"])
    assert {
        "ApiUrl",
        "ApiExecuteArn",
        "SignupQueueUrl",
        "SignupQueueArn",
        "SignupDeadLetterQueueUrl",
        "SignupDeadLetterQueueArn",
        "SignupConsumerLogGroupName",
        "CloneStoreStateMachineArn",
        "StateMachineLogGroupName",
        "SlotReaperFunctionName",
        "SlotReaperDeadLetterQueueUrl",
        "JobsTableName",
        "MappingsTableName",
        "CoordinationTableName",
        "AlarmTopicArn",
        "DashboardName",
    } <= outputs


def test_every_stack_name_the_docs_tell_operators_to_fill_in_is_an_output():
    """`<SomeName>` in the README and every page of docs/ is a value the operator copies from
    the stack's outputs or gave as a parameter (lower-case ones, like <cloneId>, are theirs)."""
    model = TemplateModel()
    known = set(model.doc["Outputs"]) | set(model.doc["Parameters"])
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = {doc.name: set(re.findall(r"<([A-Z]\w*)>", doc.read_text())) for doc in pages}
    for name, placeholders in found.items():
        assert placeholders <= known, (name, placeholders - known)
    # The pages that tell operators what to fill in do name some (the pattern still finds them).
    assert all(found[name] for name in ("README.md", "operations.md", "deploy.md", "store-tokens.md"))


def secret_resources(resource: dict) -> list[str]:
    found = []
    for statement in policy_statements(resource):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "secretsmanager:GetSecretValue" in actions:
            found.append(json.dumps(statement["Resource"]))
    return found


STORE_TOKEN_READERS = {"CloneInstantSiteFunction", "PersonalizeStoreFunction"}  # the steps that call Ecwid as the store


def test_only_the_steps_that_use_a_store_token_read_store_secrets_and_only_under_the_prefix():
    functions = TemplateModel().resources("AWS::Serverless::Function")
    for reader in STORE_TOKEN_READERS:
        assert secret_resources(functions[reader]) == [
            json.dumps(
                {
                    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${StoreSecretPrefix}*"
                }
            )
        ], reader
    for logical_id, resource in functions.items():
        if logical_id not in STORE_TOKEN_READERS:
            assert all("StoreSecretPrefix" not in found for found in secret_resources(resource)), logical_id
    prefix_rule = TemplateModel().doc["Parameters"]["StoreSecretPrefix"]["AllowedPattern"]
    # The prefix ends in "/", so "<prefix>*" cannot reach a sibling like "store-cloner/stores-admin".
    assert prefix_rule.endswith("/$")


SECRET_WRITES = {
    "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:TagResource",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
}


def actions_of(statement: dict) -> set[str]:
    return set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])


def test_no_function_writes_secrets():
    """Store tokens go to the store-tokens table: no function creates or changes a secret."""
    for logical_id, resource in TemplateModel().resources("AWS::Serverless::Function").items():
        assert not any(SECRET_WRITES & actions_of(s) for s in policy_statements(resource)), logical_id


# The steps that use a store's token. The lead's PersonalizeStore joins them (issue 19).
TOKEN_READERS = STORE_TOKEN_READERS
TOKENS_TABLE = {"Fn::GetAtt": ["StoreTokensTable", "Arn"]}
TOKENS_KEY = {"Fn::GetAtt": ["StoreTokensKey", "Arn"]}
STORE_ID_CONTEXT_ONLY = {
    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["storeId"]},
    "Null": {"kms:EncryptionContext:storeId": "false"},
}


def test_only_create_store_writes_store_tokens_and_only_the_steps_that_use_one_read_them():
    functions = TemplateModel().resources("AWS::Serverless::Function")
    grants: dict[str, set[str]] = {}
    for logical_id, resource in functions.items():
        for statement in policy_statements(resource):
            if statement["Resource"] in (TOKENS_TABLE, TOKENS_KEY):
                grants.setdefault(logical_id, set()).update(actions_of(statement))
                if statement["Resource"] == TOKENS_KEY:
                    # Each use of the key names a store, and only a store: no other data under it.
                    assert statement["Condition"] == STORE_ID_CONTEXT_ONLY, (logical_id, statement["Sid"])
            # Nothing reaches the table or the key by a wider resource either.
            assert "StoreTokens" not in json.dumps(statement["Resource"]) or statement["Resource"] in (
                TOKENS_TABLE,
                TOKENS_KEY,
            ), (logical_id, statement["Sid"])
    assert grants == {
        "CreateStoreFunction": {"dynamodb:PutItem", "kms:Encrypt"},
        **{reader: {"dynamodb:GetItem", "kms:Decrypt"} for reader in TOKEN_READERS},
    }


def test_the_store_tokens_key_serves_store_tokens_only_and_both_outlive_the_stack():
    resources = TemplateModel().doc["Resources"]
    key = resources["StoreTokensKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    denials = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert len(denials) == 1 and denials[0]["Principal"] == {"AWS": "*"}
    assert {"kms:Encrypt", "kms:Decrypt"} <= set(denials[0]["Action"])
    assert denials[0]["Condition"] == {"Null": {"kms:EncryptionContext:storeId": "true"}}
    # The stores outlive a deleted stack, and so must their tokens (and the key that reads them).
    for logical_id in ("StoreTokensTable", "StoreTokensKey"):
        assert resources[logical_id]["DeletionPolicy"] == resources[logical_id]["UpdateReplacePolicy"] == "Retain"
    outputs = TemplateModel().doc["Outputs"]
    assert {"StoreTokensTableName", "StoreTokensKeyArn"} <= set(outputs)


# An operator's cancel ends a clone outside the state machine: the functions that cancel publish its Clone Failed.
CANCELLERS = {"ApiFunction", "BulkWorkerFunction"}


def test_events_are_published_by_the_state_machine_and_the_cancellers_to_the_bus_only():
    model = TemplateModel()
    machine = model.resources("AWS::Serverless::StateMachine")["CloneStoreStateMachine"]
    functions = model.resources("AWS::Serverless::Function")
    for publisher in [machine, *(functions[name] for name in CANCELLERS)]:
        puts = [s for s in policy_statements(publisher) if s["Action"] == "events:PutEvents"]
        assert len(puts) == 1
        assert puts[0]["Resource"]["Fn::If"][0] == "CreateEventBus"
        assert puts[0]["Resource"]["Fn::If"][1] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    for logical_id, function in functions.items():
        if logical_id not in CANCELLERS:
            assert not any("events:" in json.dumps(s["Action"]) for s in policy_statements(function)), logical_id
    states = json.loads(ASL.read_text())["States"]
    publishers = {
        name for name, state in states.items() if state.get("Resource") == "arn:${Partition}:states:::events:putEvents"
    }
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
    # ... but a cancelled clone's, which its canceller published.
    assert pointing_at["CloneFailed"] == {"PublishFailed", "RecordFailedEventFailure", "AnnouncedByCanceller"}
    [skip] = states["AnnouncedByCanceller"]["Choices"]
    assert skip["Next"] == "CloneFailed" and skip["And"][1] == {
        "Variable": "$.event.detail.status",
        "StringEquals": "CANCELLED",
    }
    assert states["AnnouncedByCanceller"]["Default"] == "PublishFailed"


def test_failed_store_creations_and_unpublished_events_are_alarmed():
    alarms = TemplateModel().resources("AWS::CloudWatch::Alarm")
    assert alarms["StoreCreationsFailedAlarm"]["Properties"]["MetricName"] == "StoreCreationsFailed"
    assert alarms["EventsNotPublishedAlarm"]["Properties"]["MetricName"] == "EventsNotPublished"


def test_the_asl_passes_statelint_as_deployed():
    """statelint (the ASL linter of awslabs' reference) on the definition with its
    substitutions filled as CloudFormation fills them: Lambda ARNs and the bus name."""
    _, path, substitutions = TemplateModel().state_machine()
    from local.template_model import PSEUDO_PARAMETERS, substitute

    filled = {
        name: (
            f"arn:aws:lambda:us-east-1:123456789012:function:{name.removesuffix('Arn')}"
            if name.endswith("FunctionArn")
            else PSEUDO_PARAMETERS[value["Ref"]]
            if "Ref" in value and value["Ref"] in PSEUDO_PARAMETERS
            else "store-cloner-events"
        )
        for name, value in substitutions.items()
    }

    definition = substitute(path.read_text(), filled)
    assert "${" not in definition
    result = run(tool("statelint"), definition)
    assert result.returncode == 0, result.stdout + result.stderr


def transform_template(parameters: dict[str, str] | None = None) -> dict:
    """template.yaml as CloudFormation receives it: SAM's transform (samtranslator, which SAM
    CLI installs) run here with these parameter values, and the code locations `sam package`
    would put in."""
    import os

    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    document = yaml_parse((ROOT / "template.yaml").read_text())
    for resource in document["Resources"].values():
        for key in ("CodeUri", "DefinitionUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://artifacts/{key}.zip"

    class NoManagedPolicies:  # every policy here is inline or an ARN
        def load(self) -> dict:
            return {}

    region = os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    assert region
    return transform(document, parameters or {}, NoManagedPolicies())


@pytest.fixture(scope="module")
def transformed() -> dict:
    return transform_template()


def test_the_api_has_one_stage_v1_with_its_settings(transformed):
    assert TemplateModel().resources("AWS::Serverless::Api")["CloneApi"]["Properties"]["OpenApiVersion"] == "3.0.1"
    stages = {k: v for k, v in transformed["Resources"].items() if v["Type"] == "AWS::ApiGateway::Stage"}
    assert list(stages) == ["CloneApiv1Stage"]
    assert stages["CloneApiv1Stage"]["Properties"]["StageName"] == "v1"
    assert stages["CloneApiv1Stage"]["Properties"]["TracingEnabled"] is True


def test_changing_the_api_auth_mode_redeploys_stage_v1(monkeypatch):
    """Issue 25: the API body's Fn::If is hashed unresolved, so both modes made the same
    Deployment and stage v1 kept the old mode's snapshot. Two deploys a minute apart, the
    second switching ApiAuthMode, must give v1 a new Deployment."""
    import time

    deployments = {}
    for minute, mode in enumerate(["API_KEY", "AWS_IAM"]):
        monkeypatch.setattr(time, "time", lambda minute=minute: 1_800_000_000.0 + 60 * minute)
        resources = transform_template({"ApiAuthMode": mode})["Resources"]
        (deployment,) = [k for k, v in resources.items() if v["Type"] == "AWS::ApiGateway::Deployment"]
        assert resources["CloneApiv1Stage"]["Properties"]["DeploymentId"] == {"Ref": deployment}
        security = {
            json.dumps(operation["security"])
            for path in resources["CloneApi"]["Properties"]["Body"]["paths"].values()
            for operation in path.values()
        }
        assert security == {json.dumps({"Fn::If": ["UseApiKey", [{"api_key": []}], [{"sigv4": []}]]})}
        deployments[mode] = deployment
    assert deployments["API_KEY"] != deployments["AWS_IAM"]


def test_jobs_and_mappings_outlive_the_stack_and_nothing_else_is_kept(transformed):
    """Issue 25: `sam delete` took every job and mapping with it. The two tables are kept
    (and protected from a DeleteTable by hand); the delete section of docs/deploy.md names
    what stays, so any other resource kept must be added there."""
    resources = transformed["Resources"]
    for logical_id in ("JobsTable", "MappingsTable"):
        table = resources[logical_id]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", logical_id
        assert table["Properties"]["DeletionProtectionEnabled"] is True, logical_id
    kept = {k for k, v in resources.items() if "Retain" in (v.get("DeletionPolicy"), v.get("UpdateReplacePolicy"))}
    # The store tokens too: the stores outlive the stack, and their tokens with the key that reads them.
    assert kept == {"JobsTable", "MappingsTable", "StoreTokensTable", "StoreTokensKey"}
    delete_section = (ROOT / "docs" / "deploy.md").read_text().split("## Delete the stack\n", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{name}`" in delete_section for name in kept)


def test_the_asl_names_no_partition_of_its_own():
    """Issue 25: the putEvents integrations said arn:aws:, which does not exist in
    aws-cn or aws-us-gov; the partition comes from the stack."""
    text = ASL.read_text()
    assert "arn:aws:" not in text
    states = json.loads(text)["States"]
    resources = {state["Resource"] for state in states.values() if "Resource" in state}
    assert "arn:${Partition}:states:::events:putEvents" in resources
    _, _, substitutions = TemplateModel().state_machine()
    assert substitutions["Partition"] == {"Ref": "AWS::Partition"}


def test_the_reapers_status_changes_are_retried_and_what_fails_is_kept_and_alarmed(transformed):
    """Issue 25: a status change the reaper never handled is a slot or a place leaked for good.
    EventBridge retries delivery and then keeps the event; Lambda's own retries of a failing
    invocation end in the same queue (the event as the message body, for a replay); a message
    there alarms."""
    resources = transformed["Resources"]
    queue = {"Fn::GetAtt": ["SlotReaperDeadLetterQueue", "Arn"]}
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    (rule_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::Events::Rule"]
    ((target,),) = [r["Properties"]["Targets"] for r in rules]
    assert target["Arn"] == {"Fn::GetAtt": ["SlotReaperFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": queue}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400

    function = resources["SlotReaperFunction"]["Properties"]
    assert function["DeadLetterConfig"] == {"TargetArn": queue}

    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    (policy,) = [p for p in policies if p["Queues"] == [{"Ref": "SlotReaperDeadLetterQueue"}]]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == queue
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}

    alarm = resources["SlotReaperDeadLetterAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SlotReaperDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"]


STACK_TAG = "StoreClonerStack"


def test_lambda_errors_are_alarmed_for_every_function_of_the_stack_by_one_query(transformed):
    """Issue 25: the alarm summed one metric per function, at CloudWatch's limit of 10 metrics
    for a math expression: an 11th function failed the deploy. One Metrics Insights query
    covers every function of the stack, named nowhere: they carry the stack's tag (Globals),
    and the WHERE clause uses only `=` (the operators AWS documents: =, !=, AND)."""
    resources = transformed["Resources"]
    alarm = resources["LambdaErrorsAlarm"]["Properties"]
    (query,) = alarm["Metrics"]
    assert "MetricStat" not in query and query["Period"] == 300 and query.get("ReturnData", True)
    expression = query["Expression"]["Fn::Sub"]
    assert re.fullmatch(
        r'SELECT SUM\(Errors\) FROM SCHEMA\("AWS/Lambda", FunctionName\) '
        rf"WHERE tag\.{STACK_TAG} = '\$\{{AWS::StackName\}}'",
        expression,
    ), expression
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert len(functions) >= 10
    for logical_id, function in functions.items():
        assert {"Key": STACK_TAG, "Value": {"Ref": "AWS::StackName"}} in function["Properties"]["Tags"], logical_id
    # Neither the alarm nor the dashboard names a function: a new one is covered by both.
    dashboard = json.dumps(resources["Dashboard"]["Properties"])
    for logical_id in functions:
        assert logical_id not in json.dumps(alarm) and f"${{{logical_id}}}" not in dashboard, logical_id
    assert f"tag.{STACK_TAG} = '${{AWS::StackName}}' GROUP BY FunctionName" in dashboard


def test_the_timed_out_alarm_sums_metrics_that_may_have_no_data():
    metrics = TemplateModel().resources("AWS::CloudWatch::Alarm")["CloneExecutionsTimedOutAlarm"]["Properties"][
        "Metrics"
    ]
    expression = next(m["Expression"] for m in metrics if "Expression" in m)
    inputs = [m["Id"] for m in metrics if "MetricStat" in m]
    assert all(f"FILL({name}, 0)" in expression for name in inputs), expression


def test_every_inline_policy_names_the_policy_language_version():
    model = TemplateModel()
    resources = {**model.resources("AWS::Serverless::Function"), **model.resources("AWS::Serverless::StateMachine")}
    for logical_id, resource in resources.items():
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                assert policy.get("Version") == "2012-10-17", logical_id


def test_samconfig_leaves_the_artifact_bucket_to_the_deployer():
    # resolve_s3 = true would make `sam deploy --s3-bucket …` fail ("cannot use both").
    assert "resolve_s3" not in (ROOT / "samconfig.toml").read_text()


ACCOUNT, REGION = "123456789012", "us-east-1"
ARN_FORMATS = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{id}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{id}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{id}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{id}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{id}-AbCdEf",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{id}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{id}",
}


def resolved(value, resources: dict, parameters: dict):
    """A policy document with CloudFormation's intrinsics turned into the strings they
    become (ARNs of the right shape for each resource type), as IAM will read it."""

    def arn(logical_id: str) -> str:
        if logical_id in parameters:
            return parameters[logical_id]
        return ARN_FORMATS[resources[logical_id]["Type"]].format(region=REGION, account=ACCOUNT, id=logical_id)

    if isinstance(value, dict) and len(value) == 1:
        ((function, args),) = value.items()
        if function == "Ref":
            return arn(args)
        if function == "Fn::GetAtt":
            return arn(args[0] if isinstance(args, list) else args.split(".")[0])
        if function == "Fn::If":
            return resolved(args[1], resources, parameters)
        if function == "Fn::Sub":
            text, names = (args, {}) if isinstance(args, str) else (args[0], args[1])
            local = {name: resolved(v, resources, parameters).rsplit(":", 1)[-1] for name, v in names.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: local.get(m.group(1)) or arn(m.group(1).split(".")[0]), text)
    if isinstance(value, dict):
        return {key: resolved(item, resources, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, resources, parameters) for item in value]
    return value


# parliament's findings we keep, each with its reason (none today).
ACCEPTED_PARLIAMENT_FINDINGS: dict[tuple[str, str], str] = {}


def test_parliament_finds_nothing_in_any_iam_policy_as_deployed(transformed):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources
        from parliament import analyze_policy_string

    parameters = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "StoreSecretPrefix": "store-cloner/stores/",
        "EventBusName": "store-cloner-events",
    }
    resources = transformed["Resources"]
    checked, findings = 0, []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            document = resolved(policy["PolicyDocument"], resources, parameters)
            checked += len(document["Statement"])
            for finding in analyze_policy_string(json.dumps(document)).findings:
                if (logical_id, finding.issue) not in ACCEPTED_PARLIAMENT_FINDINGS:
                    findings.append((logical_id, policy["PolicyName"], finding.issue, finding.detail))
    assert checked > 20  # every statement of every function's and the state machine's role
    assert findings == []


def test_alarms_can_publish_to_the_encrypted_topic():
    resources = TemplateModel().doc["Resources"]
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    grants = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert len(grants) == 1 and set(grants[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_every_function_has_a_log_group_with_a_retention_deleted_with_the_stack():
    model = TemplateModel()
    groups = model.resources("AWS::Logs::LogGroup")
    for logical_id in model.resources("AWS::Serverless::Function"):
        group = groups[f"{logical_id}LogGroup"]
        assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"


def test_the_api_definition_is_a_valid_openapi_3_document():
    from openapi_spec_validator import validate

    model = TemplateModel()
    body = model.resources("AWS::Serverless::Api")["CloneApi"]["Properties"]["DefinitionBody"]
    document = resolved(
        body,
        model.doc["Resources"] | {"ApiFunction": {"Type": "AWS::Lambda::Function"}},
        {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT},
    )
    document = json.loads(json.dumps(document))  # plain str keys (cfn-lint's parser gives str subclasses)
    validate(document)  # raises, naming the problem, when it is not
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert operation["responses"], path
            declared = {p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in operation.get("parameters", [])}
            assert set(re.findall(r"\{(\w+)\}", path)) <= declared, path


def _granted(resource: dict, prefix: str) -> dict[str, list[str]]:
    """Every action under ``prefix`` a function is granted, and on what (as the template writes it)."""
    granted: dict[str, list[str]] = {}
    for statement in policy_statements(resource):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            if action.startswith(prefix):
                granted.setdefault(action, []).extend(json.dumps(target, sort_keys=True) for target in targets)
    return granted


CLONE_EXECUTIONS = json.dumps(
    {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        "${CloneStoreStateMachine.Name}:*"
    },
    sort_keys=True,
)


def test_operators_actions_reach_only_this_stacks_state_machines():
    functions = TemplateModel().resources("AWS::Serverless::Function")
    clone_machine = json.dumps({"Ref": "CloneStoreStateMachine"}, sort_keys=True)
    bulk_machine = json.dumps({"Ref": "BulkActionStateMachine"}, sort_keys=True)
    assert _granted(functions["ApiFunction"], "states:") == {
        "states:StartExecution": [clone_machine, bulk_machine],
        "states:StopExecution": [CLONE_EXECUTIONS],
        "states:GetExecutionHistory": [CLONE_EXECUTIONS],
    }
    assert _granted(functions["BulkWorkerFunction"], "states:") == {
        "states:StartExecution": [clone_machine],
        "states:StopExecution": [CLONE_EXECUTIONS],
    }
    # Nothing else stops or starts executions but the entry points.
    for logical_id, resource in functions.items():
        granted = _granted(resource, "states:")
        if logical_id not in ("ApiFunction", "BulkWorkerFunction", "SignupConsumerFunction"):
            assert granted == {}, logical_id
    assert _granted(functions["SignupConsumerFunction"], "states:") == {"states:StartExecution": [clone_machine]}


def test_jobs_and_mappings_expire_by_ttl_on_expires_at():
    tables = TemplateModel().resources("AWS::DynamoDB::Table")
    for name in ("JobsTable", "MappingsTable"):
        assert tables[name]["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    parameters = TemplateModel().doc["Parameters"]
    assert parameters["JobRetentionDays"]["Default"] == 400 and parameters["MappingRetentionDays"]["Default"] == 0
