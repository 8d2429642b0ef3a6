"""Reads template.yaml so the local stack builds what the template declares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
# What CreateTable shares with a template's AWS::DynamoDB::Table.
TABLE_KEYS = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode")
REGION = "us-east-1"
CLONE_STATE_MACHINE = "CloneStoreStateMachine"  # the clones'; the other runs operators' bulk actions
ACCOUNT = "123456789012"
PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, Any]


class TemplateModel:
    def __init__(self, path: Path = ROOT / "template.yaml", parameters: dict[str, str] | None = None):
        self.path = path
        self.doc = cfn_yaml.loads(path.read_text())
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in self.doc.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.doc["Resources"].items()
            if resource["Type"] == resource_type
        }

    def table_arguments(self, logical_id: str, table_name: str) -> dict[str, Any]:
        """DynamoDB CreateTable arguments for the template's table ``logical_id``, as plain JSON."""
        props = self.resources("AWS::DynamoDB::Table")[logical_id]["Properties"]
        arguments = {key: props[key] for key in TABLE_KEYS if key in props}
        arguments.setdefault("BillingMode", "PAY_PER_REQUEST")
        return json.loads(json.dumps({"TableName": table_name, **arguments}))  # cfn-lint's nodes -> plain

    def functions(self) -> dict[str, FunctionSpec]:
        globals_env = self.doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        specs = {}
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            props = resource["Properties"]
            module, _, handler = props["Handler"].rpartition(".")
            env = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
            specs[logical_id] = FunctionSpec(logical_id, ROOT / props["CodeUri"], module, handler, env)
        return specs

    def condition(self, name: str) -> bool:
        expression = self.doc["Conditions"][name]
        ((function, args),) = expression.items()
        if function != "Fn::Equals":
            raise NotImplementedError(f"condition function {function}")
        left, right = (self.resolve(arg, {}) for arg in args)
        return left == right

    def resolve(self, value: Any, physical: dict[str, str]) -> Any:
        """A template value with Ref, GetAtt and If resolved to local names."""
        if isinstance(value, dict) and len(value) == 1:
            ((function, args),) = value.items()
            if function == "Ref":
                if args in self.parameters:
                    return self.parameters[args]
                if args in PSEUDO_PARAMETERS:
                    return PSEUDO_PARAMETERS[args]
                return physical[args]
            if function == "Fn::GetAtt":
                logical_id, attribute = args if isinstance(args, list) else args.split(".", 1)
                if attribute != "Arn":
                    raise NotImplementedError(f"GetAtt {attribute}")
                return physical[f"{logical_id}.Arn"]
            if function == "Fn::If":
                condition, when_true, when_false = args
                return self.resolve(when_true if self.condition(condition) else when_false, physical)
        if isinstance(value, dict):
            return {key: self.resolve(item, physical) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, physical) for item in value]
        return value

    def state_machines(self) -> dict[str, tuple[Path, dict[str, Any]]]:
        """Every state machine: its definition file and DefinitionSubstitutions."""
        return {
            logical_id: (
                ROOT / resource["Properties"]["DefinitionUri"],
                resource["Properties"].get("DefinitionSubstitutions", {}),
            )
            for logical_id, resource in self.resources("AWS::Serverless::StateMachine").items()
        }

    def state_machine(self, logical_id: str = CLONE_STATE_MACHINE) -> tuple[str, Path, dict[str, Any]]:
        path, substitutions = self.state_machines()[logical_id]
        return logical_id, path, substitutions


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    """What CloudFormation does with DefinitionSubstitutions: replace ${Name}."""
    for name, value in substitutions.items():
        definition = definition.replace("${" + name + "}", str(value))
    return definition
