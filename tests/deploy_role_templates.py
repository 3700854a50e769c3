"""The application's templates as the deploy role meets them, for tests/unit/test_deploy_role.py.

Every template `sam deploy` of template.yaml creates (template.yaml, its nested core platform and
analytics), the deploy role's policies resolved for one environment, and the boundary's document.
With aws-sam-translator installed (work package A adds it to requirements/dev.txt; requirements/tools.txt
pins 1.115.0), template.yaml is translated as CloudFormation's hosted transform would, so the roles SAM
makes from `Policies:` and its policy templates are read as deployed; without it `translated()` is None
and the tests read the templates' explicit statements only (they say so when they skip).
"""

from __future__ import annotations

import copy
import importlib
import json
from functools import cache
from typing import Any

import boto3

from local_stack.template import ROOT, Resolver, load_template
from tests.iam_policies import Policy, as_list, statements

ACCOUNT = "123456789012"
ENVIRONMENT = "dev"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": "ap-northeast-2",
    "AWS::StackName": f"shoplake-{ENVIRONMENT}",
    "AWS::URLSuffix": "amazonaws.com",
}
# CloudFormation names what the templates leave unnamed <stack>-<logical id>-<suffix>; nested stacks'
# names start with the parent's, so every role and policy here starts with shoplake-<env>-.
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/shoplake-{ENVIRONMENT}-ApplicationRoleBoundary-1A2B3C"
NESTED_PREFIX = f"shoplake-{ENVIRONMENT}-CorePlatform-1A2B-Cicd-3C4D"
DEPLOY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{NESTED_PREFIX}-CloudFormationDeployRole-5E6F"
DEPLOY_ROLE = "CloudFormationDeployRole"
BOUNDARY = "ApplicationRoleBoundary"
ROLE_TYPES = frozenset({"AWS::IAM::Role"})
POLICY_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::RolePolicy"})

TEMPLATE_PATHS = [
    ROOT / "template.yaml",
    *sorted((ROOT / "analytics").glob("*.yaml")),
    *sorted((ROOT / "infra_core").glob("*.yaml")),
]
TEMPLATES = {str(path.relative_to(ROOT)): load_template(path) for path in TEMPLATE_PATHS}
APPLICATION = TEMPLATES["template.yaml"]
CICD = TEMPLATES["infra_core/cicd.yaml"]


def resources(template: dict[str, Any], types: frozenset[str]) -> dict[str, dict[str, Any]]:
    """The template's resources of these types, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] in types}


def _resolver(template: dict[str, Any]) -> Resolver:
    def arn_of(logical_id: str, attr: str) -> str:
        if logical_id == DEPLOY_ROLE and attr == "Arn":
            return DEPLOY_ROLE_ARN
        return f"arn:aws:iam::{ACCOUNT}:role/{NESTED_PREFIX}-{logical_id}-7G8H"

    params = {"EnvironmentName": ENVIRONMENT, "PermissionsBoundaryArn": BOUNDARY_ARN}
    return Resolver(template=template, parameters=params, pseudo=PSEUDO, attr_of=arn_of)


@cache
def managed_policies() -> dict[str, Policy]:
    """AWS managed policies by name, as moto 5.2.5 snapshots them (their documents, not their versions)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415 - a large table, read once

    return {name: spec["Document"] for name, spec in json.loads(aws_managed_policies_data).items()}


def aws_managed(arn: Any) -> Policy | None:
    """The document of an AWS managed policy ARN (`!Sub arn:${AWS::Partition}:iam::aws:policy/...`), else None."""
    text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else str(arn)
    if ":iam::aws:policy/" not in text:
        return None
    name = text.rsplit("/", 1)[-1]
    if name not in managed_policies():
        raise LookupError(f"moto's snapshot has no AWS managed policy {name}")
    return managed_policies()[name]


def deploy_role_policies() -> list[Policy]:
    """The deploy role's policies, resolved: PowerUserAccess, its inline policy, DeployRoleCannotChangeItself."""
    resolve = _resolver(CICD).resolve
    role = CICD["Resources"][DEPLOY_ROLE]["Properties"]
    found: list[Policy] = [p for p in (aws_managed(a) for a in role["ManagedPolicyArns"]) if p is not None]
    found += [resolve(p["PolicyDocument"]) for p in role["Policies"]]
    found += [
        resolve(spec["Properties"]["PolicyDocument"])
        for spec in resources(CICD, frozenset({"AWS::IAM::RolePolicy"})).values()
        if spec["Properties"]["RoleName"] == {"Ref": DEPLOY_ROLE}
    ]
    return found


def boundary() -> Policy:
    """ApplicationRoleBoundary's document, resolved for dev."""
    return _resolver(APPLICATION).resolve(APPLICATION["Resources"][BOUNDARY]["Properties"]["PolicyDocument"])


@cache
def translated() -> dict[str, Any] | None:
    """template.yaml through aws-sam-translator, offline, or None when it is not installed.

    Local `CodeUri`/`ContentUri`/`DefinitionUri`/`Location` strings become s3:// and https:// URIs first,
    as `sam deploy` uploads them (cfn-lint does the same), because the translator refuses local paths.
    """
    try:
        parser = importlib.import_module("samtranslator.parser.parser")
        translator_module = importlib.import_module("samtranslator.translator.translator")
    except ImportError:
        return None
    template = copy.deepcopy(APPLICATION)
    for spec in template["Resources"].values():
        props = spec.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://local-artifacts/{props[key]}"
        if spec["Type"] == "AWS::Serverless::Application" and isinstance(props.get("Location"), str):
            props["Location"] = f"https://s3.ap-northeast-2.amazonaws.com/local-artifacts/{props['Location']}"
    session = boto3.Session(region_name=PSEUDO["AWS::Region"])
    translator = translator_module.Translator({}, parser.Parser(), boto_session=session)
    result: dict[str, Any] = translator.translate(template, {}, get_managed_policy_map=lambda: {})
    return result


def granted_actions(template: dict[str, Any]) -> dict[str, set[str]]:
    """Every action an Allow statement grants in the template's roles and policies, with where it is granted.

    Inline policies, customer managed policies and the AWS managed policies roles attach; the deploy
    role is left out (it carries no boundary, by design). Returns `{action pattern: {"Role/Sid", ...}}`.
    """
    found: dict[str, set[str]] = {}
    for logical_id, spec in resources(template, POLICY_TYPES).items():
        if logical_id in (DEPLOY_ROLE, BOUNDARY) or spec["Properties"].get("RoleName") == {"Ref": DEPLOY_ROLE}:
            continue
        props = spec["Properties"]
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        documents += [props["PolicyDocument"]] if "PolicyDocument" in props else []
        documents += [p for p in (aws_managed(a) for a in props.get("ManagedPolicyArns", [])) if p is not None]
        for document in documents:
            for statement in _unconditional(statements(document)):
                if statement["Effect"] != "Allow":
                    continue
                if "NotAction" in statement:
                    raise ValueError(f"{logical_id} grants with NotAction; read it by hand")
                for action in as_list(statement["Action"]):
                    found.setdefault(action, set()).add(f"{logical_id}/{statement.get('Sid', '?')}")
    return found


def _unconditional(found: list[Any]) -> list[dict[str, Any]]:
    """Statements with `!If [condition, statement, !Ref AWS::NoValue]` read as both branches."""
    out: list[dict[str, Any]] = []
    for statement in found:
        if "Fn::If" in statement:
            out += _unconditional([b for b in statement["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}])
        else:
            out.append(statement)
    return out


def all_templates() -> list[dict[str, Any]]:
    """Every template as written, and template.yaml translated too when the translator is there."""
    expanded = translated()
    return [*TEMPLATES.values(), *([expanded] if expanded is not None else [])]
