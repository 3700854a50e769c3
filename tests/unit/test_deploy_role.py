"""The CI/CD deploy role is no account administrator: every role it deploys carries the application's
permissions boundary, it cannot make one that does not or change the boundary, and deploys still work.

The deploy role (infra_core/cicd.yaml, CloudFormationDeployRole) is asked as AWS would ask it
(tests/iam_policies.py). Roles SAM makes are read through aws-sam-translator when it is installed;
otherwise those tests skip, saying so, and the explicit statements are still checked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint
import pytest

from tests.deploy_role_templates import (
    ACCOUNT,
    APPLICATION,
    BOUNDARY_ARN,
    DEPLOY_ROLE,
    DEPLOY_ROLE_ARN,
    ENVIRONMENT,
    ROLE_TYPES,
    TEMPLATES,
    all_templates,
    boundary,
    deploy_role_policies,
    granted_actions,
    resources,
    translated,
)
from tests.iam_policies import actions_outside, as_list, covers, decide, statements

APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/shoplake-{ENVIRONMENT}-EtlExtractRole-1A2B"
APP_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/shoplake-{ENVIRONMENT}-GlueJobRuntimePolicy-1A2B"
OTHER_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/SomethingWider"
BOUNDED = {"iam:PermissionsBoundary": BOUNDARY_ARN}
# The IAM calls whose request carries iam:PermissionsBoundary (the IAM service authorization reference).
BOUNDARY_KEYED = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
)
ADMINISTRATOR_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess", "AWSOrganizationsFullAccess")
SAM_SKIP = "aws-sam-translator is not installed in .venv: the roles SAM generates are not expanded"


def deploy_role(action: str, resource: str, context: dict[str, str] | None = None) -> str:
    return decide(deploy_role_policies(), action, resource, context)


# ---------------------------------------------------------------- (a) every role carries the boundary


def _boundary_refs() -> list[tuple[str, str, Any]]:
    found = []
    for name, template in TEMPLATES.items():
        for logical_id, spec in resources(template, ROLE_TYPES).items():
            found.append((name, logical_id, spec["Properties"].get("PermissionsBoundary")))
    return found


@pytest.mark.parametrize(("name", "logical_id", "given"), _boundary_refs(), ids=str)
def test_every_role_in_every_template_carries_the_applications_boundary(name: str, logical_id: str, given: Any) -> None:
    # GIVEN every AWS::IAM::Role the deploy creates, in template.yaml and its nested stacks
    if logical_id == DEPLOY_ROLE:
        # THEN the deploy role alone carries none: the boundary denies the IAM writes that are its job
        assert given is None
        return
    # THEN it carries the boundary: template.yaml's own, the nested stacks' as their parameter
    assert given == (
        {"Ref": "ApplicationRoleBoundary"} if name == "template.yaml" else {"Ref": "PermissionsBoundaryArn"}
    )


def test_every_function_state_machine_and_schedule_sam_makes_a_role_for_carries_it() -> None:
    # GIVEN the SAM resources of template.yaml, which make their own roles
    wanted = {"Ref": "ApplicationRoleBoundary"}
    assert APPLICATION["Globals"]["Function"]["PermissionsBoundary"] == wanted
    for logical_id, spec in resources(APPLICATION, frozenset({"AWS::Serverless::Function"})).items():
        # THEN no function overrides the global boundary or brings a role of its own without it
        assert spec["Properties"].get("PermissionsBoundary", wanted) == wanted, logical_id
    machines = resources(APPLICATION, frozenset({"AWS::Serverless::StateMachine"}))
    assert machines
    for logical_id, spec in machines.items():
        assert spec["Properties"]["PermissionsBoundary"] == wanted, logical_id
        for event_id, event in spec["Properties"].get("Events", {}).items():
            if event["Type"] == "ScheduleV2" and "RoleArn" not in event["Properties"]:
                assert event["Properties"]["PermissionsBoundary"] == wanted, f"{logical_id}.{event_id}"


def test_every_role_sam_generates_carries_the_boundary() -> None:
    # GIVEN template.yaml as CloudFormation's transform expands it
    expanded = translated()
    if expanded is None:
        pytest.skip(SAM_SKIP)
    roles = resources(expanded, ROLE_TYPES)
    generated = set(roles) - set(resources(APPLICATION, ROLE_TYPES))
    # THEN each function's, the state machine's and the schedule's role carries it
    assert {"SurveyParserFunctionRole", "NightlyEtlStateMachineRole", "NightlyEtlStateMachineNightlyRole"} <= generated
    assert {
        k for k, v in roles.items() if v["Properties"].get("PermissionsBoundary") != {"Ref": "ApplicationRoleBoundary"}
    } == set()


def test_the_boundary_reaches_every_nested_stack_that_makes_a_role() -> None:
    # GIVEN the parent application and the core platform's parent
    platform = TEMPLATES["infra_core/platform.yaml"]
    assert APPLICATION["Resources"]["CorePlatform"]["Properties"]["Parameters"]["PermissionsBoundaryArn"] == {
        "Ref": "ApplicationRoleBoundary"
    }
    for logical_id, spec in platform["Resources"].items():
        child = TEMPLATES[f"infra_core/{spec['Properties']['Location']}"]
        # THEN every child with a role takes the boundary from it
        if resources(child, ROLE_TYPES):
            assert spec["Properties"]["Parameters"]["PermissionsBoundaryArn"] == {"Ref": "PermissionsBoundaryArn"}, (
                logical_id
            )


# ---------------------------------------------------------------- (b) the deploy role requires it


def test_every_grant_of_a_boundary_keyed_call_requires_the_applications_boundary() -> None:
    # GIVEN each Allow statement of the deploy role that could allow a call carrying iam:PermissionsBoundary
    for policy in deploy_role_policies():
        for statement in statements(policy):
            if statement["Effect"] != "Allow" or "NotAction" in statement:
                continue
            if any(covers(a, keyed) for a in as_list(statement["Action"]) for keyed in BOUNDARY_KEYED):
                # THEN it holds only when that boundary is the application's
                assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}, statement


@pytest.mark.parametrize("given", [None, OTHER_BOUNDARY, BOUNDARY_ARN])
def test_the_deploy_role_creates_a_role_only_with_the_applications_boundary(given: str | None) -> None:
    context = {"iam:PermissionsBoundary": given} if given else {}
    expected = "allow" if given == BOUNDARY_ARN else "implicit"
    assert deploy_role("iam:CreateRole", APP_ROLE, context) == expected


@pytest.mark.parametrize(
    "action", ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"]
)
def test_the_deploy_role_changes_the_policies_only_of_roles_that_carry_the_boundary(action: str) -> None:
    context = {"iam:PolicyARN": APP_POLICY}
    assert deploy_role(action, APP_ROLE, {**context, **BOUNDED}) == "allow"
    assert deploy_role(action, APP_ROLE, context) == "implicit"  # a role without a boundary
    assert deploy_role(action, APP_ROLE, {**context, "iam:PermissionsBoundary": OTHER_BOUNDARY}) == "implicit"
    assert deploy_role(action, DEPLOY_ROLE_ARN, context) == "deny"  # itself, which carries none


def test_the_deploy_role_can_neither_remove_nor_replace_a_boundary() -> None:
    assert deploy_role("iam:DeleteRolePermissionsBoundary", APP_ROLE, BOUNDED) == "deny"
    assert (
        deploy_role("iam:PutRolePermissionsBoundary", APP_ROLE, {"iam:PermissionsBoundary": OTHER_BOUNDARY}) == "deny"
    )
    assert deploy_role("iam:PutRolePermissionsBoundary", APP_ROLE, BOUNDED) == "allow"


@pytest.mark.parametrize(
    "action", ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"]
)
def test_the_deploy_role_cannot_change_the_boundary_policy_itself(action: str) -> None:
    assert deploy_role(action, BOUNDARY_ARN) == "deny"


@pytest.mark.parametrize(
    "action", ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"]
)
def test_the_deploy_role_still_manages_the_applications_other_managed_policies(action: str) -> None:
    # GlueJobRuntimePolicy, say: what it grants reaches only bounded roles
    assert deploy_role(action, APP_POLICY) == "allow"


@pytest.mark.parametrize("name", ADMINISTRATOR_POLICIES)
def test_the_deploy_role_never_attaches_an_administrator_policy(name: str) -> None:
    # WHEN it attaches an administrator policy even to a role that carries the boundary
    context = {**BOUNDED, "iam:PolicyARN": f"arn:aws:iam::aws:policy/{name}"}
    assert deploy_role("iam:AttachRolePolicy", APP_ROLE, context) == "deny"


@pytest.mark.parametrize(
    "action", ["iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:PutRolePolicy"]
)
def test_the_deploy_role_cannot_change_itself(action: str) -> None:
    # GIVEN calls without a boundary key (a trust policy opened to another account, say)
    assert deploy_role(action, DEPLOY_ROLE_ARN, {"iam:PolicyARN": APP_POLICY}) == "deny"


def test_the_deploy_role_still_updates_the_trust_policy_of_an_application_role() -> None:
    # UpdateAssumeRolePolicy carries no iam:PermissionsBoundary; a bounded role trusting more gets no more
    assert deploy_role("iam:UpdateAssumeRolePolicy", APP_ROLE) == "allow"


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/someone-else"),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/shoplake-{ENVIRONMENT}-x"),
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"),
        ("organizations:LeaveOrganization", "*"),
        ("account:PutAlternateContact", "*"),
    ],
)
def test_the_deploy_role_has_no_iam_outside_the_applications_own(action: str, resource: str) -> None:
    assert deploy_role(action, resource, BOUNDED) != "allow"


# ---------------------------------------------------------------- (c) the boundary allows what the roles grant


@pytest.mark.parametrize("name", sorted(TEMPLATES), ids=str)
def test_every_explicit_grant_falls_inside_the_boundary(name: str) -> None:
    # GIVEN every action the template's own roles and policies grant, AWS managed policies included
    granted = granted_actions(TEMPLATES[name])
    # THEN the boundary allows each (resources and conditions aside)
    outside = actions_outside(boundary(), sorted(granted))
    assert {a: sorted(granted[a]) for a in outside} == {}


def test_every_grant_sam_generates_falls_inside_the_boundary() -> None:
    # GIVEN the roles SAM makes from each function's Policies (its policy templates expanded)
    expanded = translated()
    if expanded is None:
        pytest.skip(SAM_SKIP)
    granted = granted_actions(expanded)
    assert "s3:GetObject" in granted and "xray:PutTraceSegments" in granted
    outside = actions_outside(boundary(), sorted(granted))
    assert {a: sorted(granted[a]) for a in outside} == {}


def test_the_boundary_allows_no_service_the_application_does_not_use() -> None:
    # GIVEN every action granted anywhere, SAM's roles included (some services only they use)
    if translated() is None:
        pytest.skip(SAM_SKIP)
    granted: set[str] = set()
    for template in all_templates():
        granted |= set(granted_actions(template))
    services = {a.split(":")[0].lower() for a in granted}
    allowed = [a for s in statements(boundary()) if s["Effect"] == "Allow" for a in as_list(s["Action"])]
    # THEN each service the boundary allows wholly is one some role grants: a ceiling, not a wish list
    assert sorted(a for a in allowed if a.endswith(":*") and a.split(":")[0] not in services) == []


def test_the_boundary_denies_iam_writes_and_organization_and_account_actions() -> None:
    policy = [boundary()]
    for action in (
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:CreateAccessKey",
        "iam:UpdateAssumeRolePolicy",
    ):
        assert decide(policy, action, APP_ROLE, BOUNDED) == "deny", action
    assert decide(policy, "organizations:LeaveOrganization", "*") == "deny"
    assert decide(policy, "account:CloseAccount", "*") == "deny"
    assert decide(policy, "iam:PassRole", APP_ROLE) == "allow"
    assert decide(policy, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole") == "implicit"
    assert decide(policy, "sts:AssumeRole", APP_ROLE) == "implicit"


# ---------------------------------------------------------------- deploys still work

SCHEMAS = Path(str(cfnlint.__file__)).parent / "data" / "schemas"
# What CloudFormation's handlers ask that the deploy role is refused on purpose, and why that is right.
REFUSED_ON_PURPOSE = {
    # AWS::IAM::Role's update handler removes a boundary only when the template drops it.
    "iam:DeleteRolePermissionsBoundary": "every role keeps the boundary; removing it is an administrator's change",
    # AWS::IAM::ManagedPolicy's handlers attach it to the Users and Groups it names; ours name none.
    "iam:AttachUserPolicy": "the application's managed policies name no Users (roles attach them)",
    "iam:DetachUserPolicy": "the application's managed policies name no Users (roles attach them)",
    "iam:AttachGroupPolicy": "the application's managed policies name no Groups (roles attach them)",
    "iam:DetachGroupPolicy": "the application's managed policies name no Groups (roles attach them)",
    # AWS::CloudTrail::Trail asks it for an organization trail only; the audit trail is the account's.
    "organizations:ListAWSServiceAccessForOrganization": "infra_core/audit.yaml's trail is no organization trail",
    # AWS::WAFv2::LoggingConfiguration lists an action IAM does not have (organizations:DescribeOrganization
    # is the real one, and PowerUserAccess allows it).
    "iam:DescribeOrganization": "no such IAM action",
}


@cache
def _handler_permissions() -> dict[str, dict[str, set[str]]]:
    providers = json.loads((SCHEMAS / "providers" / "ap-northeast-2.json").read_text(encoding="utf-8"))
    types: set[str] = set()
    for template in all_templates():
        types |= {spec["Type"] for spec in template["Resources"].values()}
    # SAM's types are read translated; a custom resource is a call to its function (PowerUserAccess)
    types = {t for t in types if not t.startswith(("AWS::Serverless::", "Custom::"))}
    needs: dict[str, dict[str, set[str]]] = {}
    for resource_type in sorted(types):
        schema = json.loads((SCHEMAS / "resources" / f"{providers[resource_type]}.json").read_text(encoding="utf-8"))
        for handler in ("create", "update", "delete"):
            for action in schema.get("handlers", {}).get(handler, {}).get("permissions", []):
                needs.setdefault(action, {}).setdefault(resource_type, set()).add(handler)
    return needs


def _resource_for(action: str) -> str:
    noun = action.split(":", 1)[1]
    if not action.startswith("iam:"):
        return f"arn:aws:{action.split(':', maxsplit=1)[0]}:ap-northeast-2:{ACCOUNT}:shoplake-{ENVIRONMENT}-x"
    if "ServiceLinkedRole" in noun:
        return f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
    if "InstanceProfile" in noun:
        return f"arn:aws:iam::{ACCOUNT}:instance-profile/shoplake-{ENVIRONMENT}-x"
    if "Role" in noun:
        return APP_ROLE
    return APP_POLICY if "Polic" in noun else "*"


def test_the_deploy_role_may_make_every_call_cloudformation_makes_for_these_templates() -> None:
    # GIVEN each permission CloudFormation's registry lists for creating, updating and deleting each
    # resource type these templates hold (cfn-lint's copy of the registry schemas)
    context = {**BOUNDED, "iam:PolicyARN": APP_POLICY, "iam:PassedToService": "lambda.amazonaws.com"}
    refused = {
        action: sorted(f"{t} ({', '.join(sorted(h))})" for t, h in where.items())
        for action, where in _handler_permissions().items()
        if action not in REFUSED_ON_PURPOSE and deploy_role(action, _resource_for(action), context) != "allow"
    }
    # THEN the deploy role may make each, on the application's own roles and policies where IAM
    assert refused == {}
    assert "iam:PassRole" in _handler_permissions()


def test_what_the_deploy_role_is_refused_on_purpose_is_still_asked() -> None:
    # A refusal listed above that no handler asks for any more is a stale excuse
    assert set(REFUSED_ON_PURPOSE) <= set(_handler_permissions())


def test_the_templates_hold_no_organization_trail_and_no_policy_for_users_or_groups() -> None:
    for name, template in TEMPLATES.items():
        for logical_id, spec in template["Resources"].items():
            props = spec.get("Properties", {})
            assert not props.get("IsOrganizationTrail"), f"{name}: {logical_id}"
            if spec["Type"] == "AWS::IAM::ManagedPolicy":
                assert "Users" not in props and "Groups" not in props, f"{name}: {logical_id}"


# ---------------------------------------------------------------- the evaluator these tests ask, asked itself

_DOC = {
    "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:Get*", "Resource": "arn:aws:iam::1:role/app-*"},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*", "Condition": {"StringNotEquals": {"k": "v"}}},
    ]
}


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        ("S3:GetObject", "arn:aws:s3:::b/k", {}, "allow"),  # actions match case-insensitively
        ("iam:CreateUser", "*", {}, "implicit"),  # NotAction leaves IAM out
        ("iam:GetRole", "arn:aws:iam::1:role/app-x", {}, "allow"),
        ("iam:GetRole", "arn:aws:iam::1:role/APP-x", {}, "implicit"),  # resources do not
        ("s3:DeleteBucket", "*", {}, "deny"),  # a missing key satisfies a negated operator, as in AWS
        ("s3:DeleteBucket", "*", {"k": "v"}, "allow"),
    ],
)
def test_the_evaluator_decides_as_aws_documents(
    action: str, resource: str, context: dict[str, str], expected: str
) -> None:
    assert decide([_DOC], action, resource, context) == expected
