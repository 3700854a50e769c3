"""The template's roles are read from aws-sam-translator's expansion, not from a list kept beside it."""

from __future__ import annotations

from functools import cache
from typing import Any

from local_stack.iam.sam_iam import generated_iam, principal_roles, translate
from local_stack.provision import REGION
from local_stack.template import load_template


@cache
def _translated() -> dict[str, Any]:
    return translate(load_template(), REGION)


def test_every_principal_of_the_template_is_wired_to_a_role_the_translation_declares() -> None:
    # GIVEN template.yaml as CloudFormation would get it
    template, translated = load_template(), _translated()
    kinds = {"AWS::Serverless::Function", "AWS::Serverless::StateMachine", "AWS::Glue::Job"}
    expected = {k for k, v in template["Resources"].items() if v["Type"] in kinds}
    # WHEN each principal's role is read from the translation
    roles = principal_roles(translated)
    # THEN every function, state machine and Glue job has one, and so do the schedule and the Firehose
    assert expected | {"NightlyEtlStateMachineNightly", "ClickstreamDeliveryStream"} <= set(roles)
    assert set(roles.values()) <= set(generated_iam(translated))
    assert roles["SlackNotifierFunction"] == "SlackNotifierFunctionRole"
    assert roles["NightlyEtlStateMachineNightly"] == "NightlyEtlStateMachineNightlyRole"


def test_the_roles_sam_generates_carry_the_policies_it_expands() -> None:
    # GIVEN a function whose Policies: use SAM policy templates WHEN its generated role is read
    role = generated_iam(_translated())["SlackNotifierFunctionRole"]["Properties"]
    names = [p["PolicyName"] for p in role["Policies"]]
    # THEN the expansion is there as inline policies, with the managed ones SAM adds and the boundary
    assert "SlackNotifierFunctionRolePolicy0" in names
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in role["ManagedPolicyArns"]
    assert role["PermissionsBoundary"] == {"Ref": "ApplicationRoleBoundary"}


def test_local_code_paths_become_the_uris_sam_deploy_uploads_to() -> None:
    # WHEN the template is translated THEN each function's code is an S3 location, as after `sam package`
    function = _translated()["Resources"]["SlackNotifierFunction"]["Properties"]
    assert function["Code"]["S3Bucket"] == "local-artifacts"
