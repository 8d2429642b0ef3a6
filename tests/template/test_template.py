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
        "SignupQueueUrl",
        "SignupDeadLetterQueueUrl",
        "CloneStoreStateMachineArn",
        "JobsTableName",
        "MappingsTableName",
        "AlarmTopicArn",
        "DashboardName",
    } <= outputs


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
    assert instant_site == [
        json.dumps(
            {
                "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${StoreSecretPrefix}*"
            }
        )
    ]
    for logical_id, resource in functions.items():
        if logical_id != "CloneInstantSiteFunction":
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
TOKEN_READERS = {"CloneInstantSiteFunction"}
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
    publishers = {
        name for name, state in states.items() if state.get("Resource") == "arn:aws:states:::events:putEvents"
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
    assert pointing_at["CloneFailed"] == {"PublishFailed", "RecordFailedEventFailure"}


def test_failed_store_creations_and_unpublished_events_are_alarmed():
    alarms = TemplateModel().resources("AWS::CloudWatch::Alarm")
    assert alarms["StoreCreationsFailedAlarm"]["Properties"]["MetricName"] == "StoreCreationsFailed"
    assert alarms["EventsNotPublishedAlarm"]["Properties"]["MetricName"] == "EventsNotPublished"


def test_the_asl_passes_statelint_as_deployed():
    """statelint (the ASL linter of awslabs' reference) on the definition with its
    substitutions filled as CloudFormation fills them: Lambda ARNs and the bus name."""
    _, path, substitutions = TemplateModel().state_machine()
    filled = {
        name: (
            f"arn:aws:lambda:us-east-1:123456789012:function:{name.removesuffix('Arn')}"
            if name.endswith("FunctionArn")
            else "store-cloner-events"
        )
        for name in substitutions
    }
    from local.template_model import substitute

    definition = substitute(path.read_text(), filled)
    assert "${" not in definition
    result = run(tool("statelint"), definition)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def transformed() -> dict:
    """template.yaml as CloudFormation receives it: SAM's transform (samtranslator, which SAM
    CLI installs) run here, with the code locations `sam package` would put in."""
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
    return transform(document, {}, NoManagedPolicies())


def test_the_api_has_one_stage_v1_with_its_settings(transformed):
    assert TemplateModel().resources("AWS::Serverless::Api")["CloneApi"]["Properties"]["OpenApiVersion"] == "3.0.1"
    stages = {k: v for k, v in transformed["Resources"].items() if v["Type"] == "AWS::ApiGateway::Stage"}
    assert list(stages) == ["CloneApiv1Stage"]
    assert stages["CloneApiv1Stage"]["Properties"]["StageName"] == "v1"
    assert stages["CloneApiv1Stage"]["Properties"]["TracingEnabled"] is True


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
