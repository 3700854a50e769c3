"""The template's IAM as CloudFormation sees it: template.yaml through aws-sam-translator.

SAM generates roles CloudFormation then creates (a function's `<Fn>Role` from its `Policies:`, the
state machine's role, the schedule's role, the policies an EventInvokeConfig adds). They are read
from the translator's own output, so the local stack holds no second, hand-written list of them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import boto3
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]  # no py.typed
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

IAM_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"})
LOCAL_ARTIFACTS = "local-artifacts"
_LOCAL_URIS = ("CodeUri", "ContentUri", "DefinitionUri")


def translate(template: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The CloudFormation template `sam deploy` would hand to CloudFormation, translated offline.

    Local `CodeUri`/`ContentUri`/`DefinitionUri` paths become `s3://local-artifacts/<path>` and a
    nested application's local `Location` an https S3 URL first, as `sam deploy` uploads them (and as
    cfn-lint does): the translator refuses local paths. Raises samtranslator's
    `InvalidDocumentException` on a template SAM itself would refuse.
    """
    document = copy.deepcopy(dict(template))
    for spec in document["Resources"].values():
        props = spec.get("Properties") or {}
        for key in _LOCAL_URIS:
            if isinstance(props.get(key), str):
                props[key] = f"s3://{LOCAL_ARTIFACTS}/{props[key]}"
        if spec["Type"] == "AWS::Serverless::Application" and isinstance(props.get("Location"), str):
            props["Location"] = f"https://s3.{region}.amazonaws.com/{LOCAL_ARTIFACTS}/{props['Location']}"
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name=region))
    translated: dict[str, Any] = translator.translate(document, {}, get_managed_policy_map=lambda: {})
    return translated


def generated_iam(translated: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every `AWS::IAM::Role|Policy|ManagedPolicy` of the translated template, by logical id."""
    return {logical_id: spec for logical_id, spec in translated["Resources"].items() if spec["Type"] in IAM_TYPES}


def _role_of(value: Any) -> str | None:
    """The role logical id a `Role`/`RoleArn` value names (`!GetAtt X.Arn`, `!Ref X`, `!Sub ${X.Arn}`)."""
    if isinstance(value, Mapping):
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0])
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str) and value["Fn::Sub"].startswith("${"):
            return value["Fn::Sub"][2:].split(".", 1)[0].rstrip("}")
    return None


def principal_roles(translated: Mapping[str, Any]) -> dict[str, str]:
    """Each principal's logical id -> its role's logical id, as the translated template wires them.

    Principals are Lambda functions (`Role`), state machines (`RoleArn`), scheduler schedules
    (`Target.RoleArn`), Glue jobs (`Role`) and Firehose delivery streams (the destination's `RoleARN`).
    A role given as a plain ARN string (not a resource of the template) is left out.
    """
    found: dict[str, Any] = {}
    for logical_id, spec in translated["Resources"].items():
        props = spec.get("Properties") or {}
        kind = spec["Type"]
        if kind in ("AWS::Lambda::Function", "AWS::Glue::Job"):
            found[logical_id] = props.get("Role")
        elif kind == "AWS::StepFunctions::StateMachine":
            found[logical_id] = props.get("RoleArn")
        elif kind == "AWS::Scheduler::Schedule":
            found[logical_id] = (props.get("Target") or {}).get("RoleArn")
        elif kind == "AWS::KinesisFirehose::DeliveryStream":
            destinations = [v for k, v in props.items() if k.endswith("DestinationConfiguration")]
            found[logical_id] = next((d.get("RoleARN") for d in destinations if "RoleARN" in d), None)
    roles = {name: _role_of(value) for name, value in found.items()}
    return {name: role for name, role in roles.items() if role is not None}
