"""Create a template's IAM roles and policies in moto's IAM, and remember what each role holds.

AWS managed policies are not loaded into moto (`load_aws_managed_policies` costs about 1.2 s per
stack, docs/design/iam-enforced-locally.md section 2): a role's AWS managed ARNs are kept here and
their documents read from moto's bundled snapshot (`moto/iam/aws_managed_policies.py`) instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3

from local_stack.iam.model import PolicyDocument

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


@cache
def _aws_managed_snapshot() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415 - 1 MB of JSON

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data


def aws_managed_document(arn: str) -> PolicyDocument:
    """The default version of an AWS managed policy, from moto's snapshot. Raises KeyError if it has none."""
    name = arn.removeprefix(AWS_MANAGED_PREFIX).rsplit("/", 1)[-1]
    document: PolicyDocument = _aws_managed_snapshot()[name]["Document"]
    return document


def _for_moto(document: PolicyDocument) -> str:
    """The document as JSON for moto, which refuses one with no `Version` (IAM reads that as 2008-10-17;
    SAM's policy templates leave it out). The registry keeps the document as the template has it."""
    return json.dumps({"Version": "2012-10-17", **document})


@dataclass
class Role:
    """One role as created: its inline documents by name, its managed policy ARNs, its boundary ARN."""

    logical_id: str
    name: str
    arn: str
    inline: dict[str, PolicyDocument] = field(default_factory=dict)
    managed: list[str] = field(default_factory=list)
    boundary: str | None = None


@dataclass
class RoleBook:
    """The creators of `AWS::IAM::Role|Policy|ManagedPolicy` for the provisioner, and what they made.

    Each creator takes `(session, logical_id, resolved properties)` and returns `(Ref, attributes)`.
    A role is named `<stack name>-<logical id>` (cut to IAM's 64 characters) unless its `RoleName` says.
    """

    stack_name: str
    roles: dict[str, Role] = field(default_factory=dict)  # by logical id
    customer_managed: dict[str, PolicyDocument] = field(default_factory=dict)  # by ARN

    def _by_name(self, name: str) -> Role:
        return next(role for role in self.roles.values() if role.name == name)

    def role(self, session: boto3.Session, logical_id: str, props: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        iam = session.client("iam")
        name = props.get("RoleName") or f"{self.stack_name}-{logical_id}"[:64]
        args: dict[str, Any] = {
            "RoleName": name,
            "Path": props.get("Path", "/"),
            "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
        }
        if props.get("PermissionsBoundary"):
            args["PermissionsBoundary"] = props["PermissionsBoundary"]
        created = iam.create_role(**args)["Role"]
        role = Role(logical_id, name, created["Arn"], boundary=props.get("PermissionsBoundary"))
        self.roles[logical_id] = role
        for policy in props.get("Policies") or []:
            self._put(session, role, policy["PolicyName"], policy["PolicyDocument"])
        for arn in props.get("ManagedPolicyArns") or []:
            self._attach(session, role, arn)
        return name, {"Arn": created["Arn"], "RoleId": created["RoleId"]}

    def policy(self, session: boto3.Session, logical_id: str, props: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        for role_name in props.get("Roles") or []:
            self._put(session, self._by_name(role_name), props["PolicyName"], props["PolicyDocument"])
        return f"{logical_id}-local", {}

    def managed_policy(
        self, session: boto3.Session, logical_id: str, props: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]]:
        name = props.get("ManagedPolicyName") or f"{self.stack_name}-{logical_id}"[:128]
        arn = session.client("iam").create_policy(
            PolicyName=name, Path=props.get("Path", "/"), PolicyDocument=_for_moto(props["PolicyDocument"])
        )["Policy"]["Arn"]
        self.customer_managed[arn] = props["PolicyDocument"]
        for role_name in props.get("Roles") or []:
            self._attach(session, self._by_name(role_name), arn)
        return arn, {"PolicyArn": arn}

    def _put(self, session: boto3.Session, role: Role, name: str, document: PolicyDocument) -> None:
        session.client("iam").put_role_policy(RoleName=role.name, PolicyName=name, PolicyDocument=_for_moto(document))
        role.inline[name] = document

    def _attach(self, session: boto3.Session, role: Role, arn: str) -> None:
        if not arn.startswith(AWS_MANAGED_PREFIX):  # AWS managed ones live in moto's snapshot, not its IAM
            session.client("iam").attach_role_policy(RoleName=role.name, PolicyArn=arn)
        role.managed.append(arn)

    def document(self, arn: str) -> PolicyDocument:
        """A managed policy's document, customer managed or AWS managed. Raises KeyError for an unknown ARN."""
        if arn in self.customer_managed:
            return self.customer_managed[arn]
        return aws_managed_document(arn)

    def policies(self, role_logical_id: str) -> tuple[tuple[str, PolicyDocument], ...]:
        """The role's identity policies as `model.Principal.policies` holds them: inline, then managed."""
        role = self.roles[role_logical_id]
        return (*role.inline.items(), *((arn, self.document(arn)) for arn in role.managed))
