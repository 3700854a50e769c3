"""Every principal of the local stack, signed in as its own role (implements `model.Registry`).

Each principal's role is assumed once with `sts:AssumeRole` (moto's own IAM checks stay off: its trust
check crashes on service principals, docs/design/iam-enforced-locally.md section 2), with the
principal's logical id as the session name, as the service that runs it would.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session

from local_stack.iam.keys import key_policies
from local_stack.iam.model import PolicyDocument, Principal
from local_stack.iam.resource_policies import resource_policies

if TYPE_CHECKING:
    from local_stack.provision import Stack


# botocore reads and parses each service's model once per loader, and a session makes its own: the local
# stack's sessions (one per principal, 20 and more a stack) share this one, so each model is read once a process.
_SHARED_LOADER = botocore.loaders.create_loader()
_BOTO3_DATA = str(Path(boto3.__file__).with_name("data"))


class EndpointSession(boto3.Session):  # type: ignore[misc]  # boto3 ships no type hints
    """A session whose clients all talk to the local moto server (`endpoint_url`), whatever the environment says."""

    def __init__(self, endpoint_url: str | None, **kwargs: Any) -> None:
        core = botocore.session.get_session()
        core.register_component("data_loader", _SHARED_LOADER)
        super().__init__(botocore_session=core, **kwargs)
        if self._loader.search_paths.count(_BOTO3_DATA) > 1:  # boto3 adds its data path to the loader each time
            self._loader.search_paths.remove(_BOTO3_DATA)
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def client(self, *args: Any, **kwargs: Any) -> Any:
        """A client on the local endpoint; a plain `client("s3")` is made once a session and then reused
        (boto3's clients are thread-safe; making one costs milliseconds, and provisioning asks hundreds of times)."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        if len(args) != 1 or set(kwargs) != {"endpoint_url"} or kwargs["endpoint_url"] != self.endpoint_url:
            return super().client(*args, **kwargs)
        with self._clients_lock:
            made = self._clients.get(args[0])
            if made is None:
                made = self._clients[args[0]] = super().client(*args, **kwargs)
            return made


@dataclass(frozen=True)
class Credentials:
    """An assumed role's keys, as `sts:AssumeRole` returns them."""

    access_key: str
    secret_key: str
    session_token: str
    session_arn: str = ""  # the assumed-role session's ARN (`AssumedRoleUser.Arn`), what GetCallerIdentity says

    def environment(self) -> dict[str, str]:
        """The keys as Lambda hands them to a function (`AWS_ACCESS_KEY_ID`, `..._SECRET_...`, `..._SESSION_TOKEN`)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def assume(harness: boto3.Session, role_arn: str, session_name: str) -> Credentials:
    """`sts:AssumeRole` as the harness; `session_name` is cut to STS's 64 characters."""
    assumed = harness.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
    keys = assumed["Credentials"]
    arn = assumed["AssumedRoleUser"]["Arn"]
    return Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"], arn)


def session_as(harness: boto3.Session, credentials: Credentials) -> boto3.Session:
    """A session with these keys, talking to the same endpoint and region as the harness."""
    return EndpointSession(
        getattr(harness, "endpoint_url", None),
        region_name=harness.region_name,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
    )


class Principals:
    """The principals of one local stack, by logical id and by access key.

    `roles` maps each principal's logical id to its role's `(role name, role ARN, policies, boundary)`;
    `resource_policies` maps resource ARNs to their resolved resource-based policy documents.
    """

    def __init__(
        self,
        harness: boto3.Session,
        harness_key: str,
        roles: Mapping[str, tuple[str, str, tuple[tuple[str, PolicyDocument], ...], PolicyDocument | None]],
        resource_policies: Mapping[str, PolicyDocument],
    ) -> None:
        self.harness = harness
        self._harness_key = harness_key
        self._resource_policies = dict(resource_policies)
        self._principals: dict[str, Principal] = {}
        self._credentials: dict[str, Credentials] = {}
        self._by_key: dict[str, str] = {}
        self._by_role_arn: dict[str, str] = {}
        for name, (role_name, role_arn, policies, boundary) in roles.items():
            credentials = assume(harness, role_arn, name)
            session_arn = credentials.session_arn
            self._principals[name] = Principal(name, role_name, role_arn, policies, boundary, session_arn)
            self._credentials[name] = credentials
            self._by_key[credentials.access_key] = name
            self._by_role_arn.setdefault(role_arn, name)

    def names(self) -> list[str]:
        """Every principal's logical id."""
        return list(self._principals)

    def principal(self, name: str) -> Principal:
        """The principal with this logical id. Raises KeyError for an unknown one."""
        return self._principals[name]

    def credentials(self, name: str) -> Credentials:
        """The principal's assumed-role keys. Raises KeyError for an unknown one."""
        return self._credentials[name]

    def session(self, name: str) -> boto3.Session:
        """A boto3 session signing as the principal, on the local endpoint. Raises KeyError for an unknown one."""
        return session_as(self.harness, self._credentials[name])

    def role_arns(self) -> set[str]:
        """The role ARNs some principal runs as."""
        return set(self._by_role_arn)

    def for_role_arn(self, role_arn: str) -> str:
        """The first principal that runs as this role ARN. Raises KeyError if none does."""
        return self._by_role_arn[role_arn]

    def by_access_key(self, access_key: str) -> Principal | None:
        name = self._by_key.get(access_key)
        return None if name is None else self._principals[name]

    def is_harness(self, access_key: str) -> bool:
        return access_key == self._harness_key

    def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        return self._resource_policies.get(resource_arn)


def principals_of(stack: Stack, harness: boto3.Session, harness_key: str) -> Principals:
    """Assume the role of every principal the translated template wires to one (`Stack.principal_roles`)."""
    roles = {}
    for name, role_id in stack.principal_roles.items():
        if role_id not in stack.roles.roles:  # a principal left out by its Condition, or a role not emulated
            continue
        role = stack.roles.roles[role_id]
        boundary = None if role.boundary is None else stack.roles.document(role.boundary)
        roles[name] = (role.name, role.arn, stack.roles.policies(role_id), boundary)
    return Principals(harness, harness_key, roles, {**resource_policies(stack), **key_policies(stack)})
