"""IAM's decision for one request in one account: the pure evaluator the local stack enforces with.

AWS's single-account logic ("Policy evaluation logic", IAM User Guide): an explicit Deny in any
applicable policy (identity-based, permissions boundary, resource-based) wins; else the request is
allowed when an identity-based policy allows it and the boundary, if any, allows it too, or when a
resource-based policy allows it naming the caller; else it is implicitly denied. Two refinements,
as AWS documents them: a resource policy naming the account root delegates to IAM (it grants nobody
by itself, but its Deny covers every principal of the account), and a resource policy naming the
*role* ARN is still capped by the role's boundary while one naming the *session* ARN is not. KMS key
policies are stricter ("Key policies in AWS KMS"): without a key-policy Allow for the caller or for
the account root, no identity policy helps.

Elements: Action/NotAction (case-insensitive), Resource/NotResource (case-sensitive), Principal/
NotPrincipal, `*` and `?`, `${key}` policy variables from the context. Condition operators:
String*, Arn*, Bool, Null, Numeric*, Date*, IpAddress/NotIpAddress, each with `...IfExists`, and the
`ForAnyValue:`/`ForAllValues:` set qualifiers ("IAM JSON policy elements: Condition operators").
A key missing from the context fails a positive operator and satisfies a negated one; any other
operator raises ValueError, so a policy is never misread as allowing. Condition keys are matched
case-insensitively, as in AWS.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from local_stack.iam.model import PolicyDocument

ContextValue = str | bool | int | float | Sequence[str]
Context = Mapping[str, ContextValue]


@dataclass(frozen=True)
class Caller:
    """Who asks: an assumed-role session (its ARN, its role's ARN) or an AWS service principal.

    `arn`: `arn:aws:sts::<account>:assumed-role/<role>/<session>` (or an IAM user/role ARN);
    `service`: e.g. "sns.amazonaws.com" when a service acts on its own (then `arn` may be "").
    """

    arn: str
    account: str
    role_arn: str = ""
    service: str = ""


@dataclass(frozen=True)
class Decision:
    """`allowed`, and why in AWS's words (e.g. "because no identity-based policy allows the s3:GetObject
    action"); `statement` names the deciding statement as "<policy name>#<Sid or index>" (for an allow by
    identity policies, every statement that allows it, joined by ", "), or "" if none.
    """

    allowed: bool
    reason: str
    statement: str = ""


# ---------------------------------------------------------------- matching


@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character."""
    return bool(_pattern(glob, ignore_case).match(value))


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list."""
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(policy: PolicyDocument) -> list[Mapping[str, Any]]:
    """A policy document's statements, always as a list."""
    return as_list(policy["Statement"])


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def _substitute(value: str, context: Mapping[str, ContextValue]) -> str | None:
    """`${aws:username}`-style variables replaced from the context; None when one has no value (no match)."""
    if "${" not in value:
        return value
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _LITERALS:
            raise ValueError(f"the policy variable ${{{name}}} is not evaluated here")
        got = context.get(name.lower())
        if got is None or isinstance(got, list | tuple):
            missing = True
            return ""
        return _text(got)

    out = _VARIABLE.sub(one, value)
    return None if missing else out


def _element(statement: Mapping[str, Any], key: str, value: str, context: Mapping[str, ContextValue]) -> bool:
    ignore_case = key == "Action"
    for name, negated in ((key, False), ("Not" + key, True)):
        if name in statement:
            patterns = [_substitute(p, context) for p in as_list(statement[name])]
            hit = any(p is not None and glob_match(p, value, ignore_case=ignore_case) for p in patterns)
            return hit != negated
    raise ValueError(f"statement has neither {key} nor Not{key}: {dict(statement)}")


def _account_root(account: str) -> set[str]:
    return {account, f"arn:aws:iam::{account}:root"}


def _names(caller: Caller) -> tuple[set[str], set[str]]:
    """The principal values that name this caller (direct) and those that name its account (root)."""
    direct = {n for n in (caller.arn, caller.role_arn, caller.service) if n}
    return direct, _account_root(caller.account) if caller.arn else set()


def _principal_hit(element: Any, caller: Caller) -> str:
    """ "direct", "role" (the role ARN, capped by a boundary), "root", or "" for how `element` names `caller`."""
    if element == "*":
        return "direct"
    found = ""
    for kind, values in element.items() if isinstance(element, Mapping) else []:
        for value in as_list(values):
            if value == "*" and kind in ("AWS", "Service"):
                return "direct"
            if kind == "Service" and value == caller.service:
                return "direct"
            if kind == "AWS" and caller.arn:
                if value == caller.arn:
                    return "direct"
                if value == caller.role_arn:
                    found = "role"
                elif value in _account_root(caller.account) and not found:
                    found = "root"
    return found


def _principal(statement: Mapping[str, Any], caller: Caller) -> str:
    if "Principal" in statement:
        return _principal_hit(statement["Principal"], caller)
    if "NotPrincipal" in statement:
        # Only naming the caller itself (for a role, its session ARN) exempts it: a role ARN or the account
        # in NotPrincipal does not spare the role's sessions (IAM User Guide, "AWS JSON policy elements:
        # NotPrincipal": "Principals must always name a specific session").
        return "" if _principal_hit(statement["NotPrincipal"], caller) == "direct" else "direct"
    raise ValueError(f"a resource-based statement needs Principal or NotPrincipal: {dict(statement)}")


# ---------------------------------------------------------------- conditions


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _number(value: Any) -> float:
    return float(value)


def _date(value: Any) -> datetime:
    text = _text(value)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _arn_like(want: str, got: str) -> bool:
    wanted, given = want.split(":", 5), got.split(":", 5)
    return len(wanted) == len(given) == 6 and all(glob_match(w, g) for w, g in zip(wanted, given, strict=True))


def _ip(want: str, got: str) -> bool:
    return ipaddress.ip_address(got) in ipaddress.ip_network(want, strict=False)


_Test = Callable[[str, Any], bool]
_POSITIVE: dict[str, _Test] = {
    "StringEquals": lambda w, g: w == _text(g),
    "StringEqualsIgnoreCase": lambda w, g: w.lower() == _text(g).lower(),
    "StringLike": lambda w, g: glob_match(w, _text(g)),
    "ArnEquals": lambda w, g: _arn_like(w, _text(g)),
    "ArnLike": lambda w, g: _arn_like(w, _text(g)),
    "Bool": lambda w, g: _text(w).lower() == _text(g).lower(),
    "NumericEquals": lambda w, g: _number(g) == _number(w),
    "NumericLessThan": lambda w, g: _number(g) < _number(w),
    "NumericLessThanEquals": lambda w, g: _number(g) <= _number(w),
    "NumericGreaterThan": lambda w, g: _number(g) > _number(w),
    "NumericGreaterThanEquals": lambda w, g: _number(g) >= _number(w),
    "DateEquals": lambda w, g: _date(g) == _date(w),
    "DateLessThan": lambda w, g: _date(g) < _date(w),
    "DateLessThanEquals": lambda w, g: _date(g) <= _date(w),
    "DateGreaterThan": lambda w, g: _date(g) > _date(w),
    "DateGreaterThanEquals": lambda w, g: _date(g) >= _date(w),
    "IpAddress": lambda w, g: _ip(w, _text(g)),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def _one_test(operator: str, key: str, wanted: Any, context: Mapping[str, ContextValue]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    got = context.get(key.lower())
    if base == "Null":
        return (got is None) == (_text(as_list(wanted)[0]).lower() == "true")
    negated = base in _NEGATED
    test = _POSITIVE.get(_NEGATED.get(base, base))
    if test is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise ValueError(f"condition operator {operator} is not evaluated here")
    if got is None:
        if qualifier:  # a set qualifier on a missing key: all of nothing holds, any of nothing does not
            return if_exists or qualifier == "ForAllValues"
        return if_exists or negated
    substituted = [_substitute(w, context) if isinstance(w, str) else _text(w) for w in as_list(wanted)]
    policy_values = [w for w in substituted if w is not None]
    values = as_list(got)

    def matches(value: Any) -> bool:
        return any(test(w, value) for w in policy_values)

    if qualifier == "ForAllValues":
        return all(not matches(v) if negated else matches(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(not matches(v) if negated else matches(v) for v in values)
    return not any(matches(v) for v in values) if negated else any(matches(v) for v in values)


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]) -> bool:
    """Whether every operator and key of one statement's `Condition` holds for the (lower-cased) context."""
    return all(_one_test(op, key, wanted, context) for op, tests in condition.items() for key, wanted in tests.items())


def _lower(context: Context | None) -> dict[str, ContextValue]:
    return {k.lower(): v for k, v in (context or {}).items()}


def applies(statement: Mapping[str, Any], action: str, resource: str, context: Context | None = None) -> bool:
    """Whether one statement speaks to this request (its effect and principal aside)."""
    lowered = _lower(context)
    has_resource = "Resource" in statement or "NotResource" in statement
    return (
        _element(statement, "Action", action, lowered)
        and (not has_resource or _element(statement, "Resource", resource, lowered))
        and conditions_hold(statement.get("Condition", {}), lowered)
    )


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True)
class _Hit:
    effect: str
    where: str
    names: str = "direct"  # for resource policies: how the statement names the caller


def _hits(named: Iterable[tuple[str, PolicyDocument]], action: str, resource: str, context: Context) -> list[_Hit]:
    found = []
    for name, policy in named:
        for index, statement in enumerate(statements(policy)):
            if "Resource" not in statement and "NotResource" not in statement:
                raise ValueError(f"{name}: an identity-based statement needs Resource or NotResource")
            if applies(statement, action, resource, context):
                found.append(_Hit(statement["Effect"], f"{name}#{statement.get('Sid', index)}"))
    return found


def _resource_hits(policy: PolicyDocument, caller: Caller, action: str, resource: str, context: Context) -> list[_Hit]:
    found = []
    for index, statement in enumerate(statements(policy)):
        names = _principal(statement, caller)
        if names and applies(statement, action, resource, context):
            found.append(_Hit(statement["Effect"], f"resource policy#{statement.get('Sid', index)}", names))
    return found


def evaluate(
    caller: Caller,
    action: str,
    resource: str,
    *,
    identity: Iterable[tuple[str, PolicyDocument]] = (),
    boundary: PolicyDocument | None = None,
    resource_policy: PolicyDocument | None = None,
    context: Context | None = None,
) -> Decision:
    """AWS's decision on `caller` doing `action` on `resource` (an ARN or "*").

    `identity`: (policy name, document) pairs, as `Principal.policies`; `boundary`: the permissions
    boundary, if any; `resource_policy`: the policy on the resource (a `kms:` action's is the key policy);
    `context`: condition keys to values (str, bool, number, or a list for multi-valued keys).
    Raises ValueError on a statement or condition operator it does not evaluate.
    """
    ctx = _lower(context)
    mine = _hits(identity, action, resource, ctx)
    fence = _hits([("permissions boundary", boundary)], action, resource, ctx) if boundary is not None else None
    theirs = _resource_hits(resource_policy, caller, action, resource, ctx) if resource_policy is not None else []
    for hits, kind in (
        (mine, "an identity-based policy"),
        (theirs, "a resource-based policy"),
        (fence or [], "a permissions boundary"),
    ):
        for hit in hits:
            if hit.effect == "Deny":
                return Decision(False, f"with an explicit deny in {kind}", hit.where)
    key_policy = action.lower().startswith("kms:") and resource_policy is not None
    return _allowed(caller, action, mine, fence, [h for h in theirs if h.effect == "Allow"], key_policy=key_policy)


def _allowed(
    caller: Caller, action: str, mine: list[_Hit], fence: list[_Hit] | None, allows: list[_Hit], *, key_policy: bool
) -> Decision:
    """The allow half of the decision, once no explicit Deny applies."""
    fenced_in = fence is None or any(h.effect == "Allow" for h in fence)
    allow_mine = next((h for h in mine if h.effect == "Allow"), None)
    by_name = {h.names: h for h in reversed(allows)}
    named = by_name.get("direct") or (by_name.get("role") if fenced_in else None)
    if named is not None:
        return Decision(True, "allowed by a resource-based policy", named.where)
    if allow_mine is None or (key_policy and "root" not in by_name and "role" not in by_name):
        who = "identity-based" if caller.arn and not (key_policy and allow_mine) else "resource-based"
        return Decision(False, f"because no {who} policy allows the {action} action")
    if not fenced_in:
        return Decision(False, f"because no permissions boundary allows the {action} action")
    # Every identity statement that allows it, in order: each is one the request needed (or an equal one).
    every = ", ".join(h.where for h in mine if h.effect == "Allow")
    return Decision(True, "allowed by an identity-based policy", every)
