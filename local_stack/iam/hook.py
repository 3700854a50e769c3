"""The one decision point: every botocore call made in this process is authorised as its signer's role.

`enforce(registry, ledger)` appends two handlers to `botocore.handlers.BUILTIN_HANDLERS`, so every
botocore session created while it is entered gets them (and resets `boto3.DEFAULT_SESSION`, whose
clients were made without them, on entry and exit): `before-parameter-build` keeps the call's API
parameters in the request context, `before-call` maps the signing access key to a principal, turns the
call into IAM checks (local_stack/iam/requests.py), evaluates each (local_stack/iam/evaluate.py)
against the role's identity policies, its boundary and the resource's policy, records each in the
ledger, and on a deny returns a 403 instead of sending the request. botocore then raises the modeled
`ClientError`: code "AccessDeniedException" on JSON protocols, "AccessDenied" on S3 and query
protocols, with AWS's message "User: <session ARN> is not authorized to perform: <action> on
resource: <ARN> because ...". The harness's keys are allowed and recorded apart (via "harness");
unknown keys, and calls with no rule in the table, fail closed. Design: docs/design/iam-enforced-locally.md §3.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from local_stack.iam.evaluate import Caller, ContextValue, Decision, evaluate
from local_stack.iam.model import Ledger, Principal, Registry, Use, Via
from local_stack.iam.requests import Check, KeyOf, NoRuleError, checks

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
PARAMS = "shoplake_iam_params"  # the request-context key the API parameters are kept under
# Services whose resources hold the resource-based policies the hook evaluates (an S3 object's is its bucket's).
POLICY_HOLDERS = ("s3", "sns", "sqs", "lambda", "kms")


def error_code(protocol: str) -> str:
    """The code AWS answers a denial with: "AccessDenied" on S3 (rest-xml) and query protocols, else "...Exception"."""
    return "AccessDenied" if protocol in ("rest-xml", "query", "ec2") else "AccessDeniedException"


def not_authorized(who: str, action: str, resource: str, reason: str) -> str:
    """AWS's denial message, naming principal, action and resource."""
    return f"User: {who} is not authorized to perform: {action} on resource: {resource} {reason}"


def denial(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    """The `(http, parsed)` pair a `before-call` handler returns to make botocore raise this error."""
    metadata = {"RequestId": "local-iam", "HTTPStatusCode": 403, "HTTPHeaders": {}, "RetryAttempts": 0}
    return AWSResponse("https://local-iam/", 403, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": metadata,
    }


def policy_holder(resource: str) -> str | None:
    """The ARN whose resource-based policy governs `resource`: an object's bucket, a function without qualifier."""
    parts = resource.split(":")
    if len(parts) < 6 or parts[2] not in POLICY_HOLDERS:
        return None
    if parts[2] == "s3":
        return "arn:aws:s3:::" + parts[5].split("/", 1)[0]
    return ":".join(parts[:7]) if parts[2] == "lambda" else resource


def caller_of(principal: Principal) -> Caller:
    """The evaluator's view of a principal: its session ARN, account and role ARN."""
    account = principal.role_arn.split(":")[4]
    session = principal.session_arn or f"arn:aws:sts::{account}:assumed-role/{principal.role_name}/{principal.name}"
    return Caller(arn=session, account=account, role_arn=principal.role_arn)


def global_context(principal: Principal, region: str, *, secure: bool) -> dict[str, ContextValue]:
    """The global condition keys AWS sets on every request of an assumed-role session."""
    now = time.time()
    return {
        "aws:SecureTransport": secure,
        "aws:PrincipalArn": principal.role_arn,
        "aws:PrincipalAccount": principal.role_arn.split(":")[4],
        "aws:PrincipalType": "AssumedRole",
        "aws:RequestedRegion": region,
        "aws:CurrentTime": datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
    }


def decide(registry: Registry, principal: Principal, check: Check, context: Mapping[str, ContextValue]) -> Decision:
    """The decision on one check for one principal: identity policies, boundary, and the resource's policy."""
    if check.unresolved:
        return Decision(False, f"because {check.unresolved}")
    holder = policy_holder(check.resource)
    return evaluate(
        caller_of(principal),
        check.action,
        check.resource,
        identity=principal.policies,
        boundary=principal.boundary,
        resource_policy=registry.resource_policy(holder) if holder else None,
        context={**context, **check.context},
    )


def _judge(
    registry: Registry, ledger: Ledger, principal: Principal, found: list[Check], *, base: Mapping[str, ContextValue],
    via: Via,
) -> str | None:  # fmt: skip
    """Evaluate and record every check; the message of the first denial, or None if all are allowed."""
    refused = None
    for check in found:
        decision = decide(registry, principal, check, base)
        statement = decision.statement if decision.allowed and not decision.statement.startswith("resource") else ""
        ledger.record(
            Use(principal.name, check.action, check.resource, decision.allowed, via, decision.reason, statement)
        )
        if not decision.allowed and refused is None:
            refused = not_authorized(caller_of(principal).arn, check.action, check.resource, decision.reason)
    return refused


def authorize(  # noqa: PLR0917 - the order work package A's callers use (principal, action, resource)
    registry: Registry,
    ledger: Ledger,
    principal: str | Principal,
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
    via: Via = "explicit",
    *,
    region: str = REGION,
) -> None:
    """Authorise one call made without an SDK request (Firehose invoking its transform, a presigned URL).

    `principal` is a Principal, or a logical id the registry resolves with `registry.principal(name)`.
    The check is recorded in the ledger. Raises ClientError "AccessDenied" with AWS's message on a deny.
    """
    if isinstance(principal, str):
        lookup = getattr(registry, "principal", None)
        if lookup is None:
            raise TypeError("authorize() by name needs a registry with principal(name); pass the Principal")
        principal = lookup(principal)
    assert isinstance(principal, Principal)
    base = global_context(principal, region, secure=True)
    refused = _judge(registry, ledger, principal, [Check(action, resource, dict(context or {}))], base=base, via=via)
    if refused:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": refused}}, action.rsplit(":", maxsplit=1)[-1])


def _stash(params: Any, context: Any, **_: Any) -> None:
    context[PARAMS] = dict(params)


def _decider(  # noqa: PLR0917 - enforce()'s arguments, passed on
    registry: Registry, ledger: Ledger, region: str, account: str, key_of: KeyOf | None, aliases: Mapping[str, str]
) -> Any:
    def decide_call(model: Any, request_signer: Any, context: Any, **_: Any) -> Any:
        service, operation = model.service_model.signing_name, model.name
        code = error_code(model.service_model.protocol)
        credentials = request_signer._credentials  # botocore keeps no public accessor
        key = "" if credentials is None else credentials.get_frozen_credentials().access_key
        if registry.is_harness(key):
            ledger.record(Use("harness", f"{service}:{operation}", "*", True, "harness"))
            return None
        principal = registry.by_access_key(key)
        if principal is None:
            ledger.record(Use(f"unknown key {key}", f"{service}:{operation}", "*", False, "sdk", "unknown key"))
            reason = f"because the access key {key!r} is no principal's and not the harness's (a stale client?)"
            return denial(code, not_authorized(key or "anonymous", f"{service}:{operation}", "*", reason))
        where = context.get("client_region") or region
        try:
            found = checks(
                service, operation, context.get(PARAMS, {}), region=where, account=account, key_of=key_of,
                aliases=aliases,
            )  # fmt: skip
        except NoRuleError as error:
            ledger.record(Use(principal.name, f"{service}:{operation}", "*", False, "sdk", str(error)))
            return denial(
                code, not_authorized(caller_of(principal).arn, f"{service}:{operation}", "*", f"because {error}")
            )
        if not found:  # a call AWS lets every principal make (sts:GetCallerIdentity): recorded, not judged
            ledger.record(Use(principal.name, f"{service}:{operation}", "*", True, "sdk", "needs no permission"))
            return None
        refused = _judge(
            registry, ledger, principal, found, base=global_context(principal, where, secure=True), via="sdk"
        )
        return None if refused is None else denial(code, refused)

    return decide_call


@contextmanager
def enforce(
    registry: Registry,
    ledger: Ledger,
    *,
    region: str = REGION,
    account: str = ACCOUNT,
    key_of: KeyOf | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """While entered, every new botocore client in this process is authorised as described above.

    `key_of` maps a bucket, topic, queue or secret ARN to its customer managed KMS key ARN (implied KMS
    checks); None checks none. `aliases` maps a KMS alias name ("alias/x") or alias ARN to the key ARN it
    points at; a call naming an alias it lacks is denied. Clients made before entry keep no handler.
    """
    handlers = [
        ("before-parameter-build", _stash),
        ("before-call", _decider(registry, ledger, region, account, key_of, dict(aliases or {}))),
    ]
    botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
    boto3.DEFAULT_SESSION = None
    from local_stack.iam.presigned import presigned_requests_authorized  # noqa: PLC0415 - it imports this module

    try:
        with presigned_requests_authorized(registry, ledger, key_of):
            yield
    finally:
        for handler in handlers:
            if handler in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(handler)
        boto3.DEFAULT_SESSION = None


def may_get_object(
    registry: Registry,
    principal: Principal,
    bucket: str,
    keys: Mapping[str, str],
    key: str,
    *,
    ledger: Ledger | None = None,
) -> bool:
    """Whether `principal` may read s3://bucket/key (with the key's KMS decrypt).

    For the Glue runner's copy of the lake, which stands in for Spark's own reads (local_stack.glue_jobs):
    an object the role may read is one Spark may read, so with `ledger` an allowed read is recorded
    (via "explicit") as the role's use; a refused one is not recorded here (the step's failure is).
    `keys` maps a bucket ARN to the customer managed key that encrypts it (local_stack.iam.keys).
    """
    found = checks("s3", "GetObject", {"Bucket": bucket, "Key": key}, region=REGION, account=ACCOUNT, key_of=keys.get)
    base = global_context(principal, REGION, secure=True)
    decisions = [(check, decide(registry, principal, check, base)) for check in found]
    allowed = all(decision.allowed for _, decision in decisions)
    if allowed and ledger is not None:
        for check, decision in decisions:
            reason = "read from the job's copy of the lake"
            ledger.record(
                Use(principal.name, check.action, check.resource, True, "explicit", reason, decision.statement)
            )
    return allowed
