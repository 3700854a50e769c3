"""A custom resource's code, run while the stack is provisioned, under IAM as its function's role.

CloudFormation invokes a custom resource's function during the deploy, so the local stack runs its
code then, signed as the function's role (local_stack.provision). The stack's own enforcement starts
only once every principal exists; this holds the one principal that acts earlier to the same rules
(local_stack.iam.hook), recording into `Stack.provisioning_ledger`, which the stack's ledger takes in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3

from local_stack.iam.hook import enforce
from local_stack.iam.keys import encrypting_keys
from local_stack.iam.model import PolicyDocument, Principal
from local_stack.iam.principals import assume, session_as

if TYPE_CHECKING:
    from local_stack.provision import Stack


class _OnePrincipal:
    """A registry of one principal, for the hook: its keys, and no resource policies yet."""

    def __init__(self, principal: Principal, access_key: str) -> None:
        self._principal, self._key = principal, access_key

    def by_access_key(self, access_key: str) -> Principal | None:
        return self._principal if access_key == self._key else None

    def is_harness(self, access_key: str) -> bool:
        return False  # the harness's own sessions were made before: they carry no hook

    def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        return None

    def principal(self, name: str) -> Principal:
        return self._principal


@contextmanager
def as_custom_resource(stack: Stack, harness: boto3.Session, function: str) -> Iterator[boto3.Session]:
    """A session signing as `function`'s role, its calls authorised and recorded while it is entered."""
    role_id = stack.principal_roles[function]
    role = stack.roles.roles[role_id]
    credentials = assume(harness, role.arn, function)
    boundary = None if role.boundary is None else stack.roles.document(role.boundary)
    principal = Principal(function, role.name, role.arn, stack.roles.policies(role_id), boundary)
    registry = _OnePrincipal(principal, credentials.access_key)
    with enforce(registry, stack.provisioning_ledger, key_of=encrypting_keys(stack).get):
        yield session_as(harness, credentials)
