"""The terms the local IAM pieces share: who a caller is, what it asked, and what was decided.

Work package A (roles and principals) fills a `Registry`; work package B (evaluator and botocore
hook) reads it and appends `Use`s to the ledger. Policy documents are JSON as IAM takes it
(`{"Version": ..., "Statement": [...]}`), with every intrinsic already resolved to plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PolicyDocument = Mapping[str, Any]
Via = Literal["sdk", "engine", "explicit", "harness"]


@dataclass(frozen=True)
class Principal:
    """One thing that runs as a role: a function, a Glue job, the state machine, the scheduler, a task.

    `name` is the principal's logical id in its template (e.g. "SlackNotifierFunction", "AppTaskRole"
    for the shop's app task); `policies` are the role's identity policies (inline and attached
    managed, in that order), each named as IAM names it (inline name or managed policy ARN).
    """

    name: str
    role_name: str
    role_arn: str
    policies: tuple[tuple[str, PolicyDocument], ...]
    boundary: PolicyDocument | None = None
    session_arn: str = ""  # arn:aws:sts::<account>:assumed-role/<role_name>/<name>


@dataclass(frozen=True)
class Use:
    """One request checked: what the ledger records and the report reads.

    `resource` is an ARN or "*"; `via` says who made the call: the principal's own SDK client,
    moto's Step Functions engine, an explicit check (e.g. Firehose invoking its transform), or the
    harness that provisions and inspects the stack (never a principal of the template).
    """

    principal: str
    action: str
    resource: str
    allowed: bool
    via: Via
    reason: str = ""
    statement: str = ""  # the identity statements that allowed it, "<policy name>#<Sid or index>", ", "-joined


class Registry(Protocol):
    """What the hook asks of the roles and principals the local stack made."""

    def by_access_key(self, access_key: str) -> Principal | None:
        """The principal whose assumed-role keys these are, or None (the harness, or unknown)."""
        ...

    def is_harness(self, access_key: str) -> bool:
        """Whether these are the harness's own keys (provisioning and test inspection)."""
        ...

    def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        """The resource-based policy on this ARN (bucket, key, topic, queue, function), if any."""
        ...


@dataclass
class Ledger:
    """Every request checked during one local stack's life, in order."""

    uses: list[Use] = field(default_factory=list)

    def record(self, use: Use) -> None:
        self.uses.append(use)
