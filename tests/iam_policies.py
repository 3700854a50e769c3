"""A small IAM policy evaluator for the template tests: enough of AWS's logic to ask what a policy allows.

It reads identity policy documents (`{"Statement": [...]}`, JSON as IAM takes it, already resolved to
plain strings) and decides one request `(action, resource, context)`. AWS's single-account rule for
one principal: an explicit Deny in any policy wins; else an Allow in some policy allows; else the
request is implicitly denied. `Action`/`NotAction`, `Resource`/`NotResource`, `*` and `?` (actions
case-insensitive), and the condition operators these templates use: `String(Not)Equals`,
`String(Not)Like`, `Arn(Not)Equals`, `Arn(Not)Like`, `Bool`; a key missing from the context fails a
positive operator and satisfies a negated one, as in AWS. Anything else raises ValueError, so a
policy that uses more is never misread as allowing. Source: "Policy evaluation logic" and "IAM JSON
policy elements: Condition operators" in the IAM User Guide. The local stack's evaluator
(issue 18, work package B) will be the full one; this is the part the deploy-role tests need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

Policy = Mapping[str, Any]


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


def statements(policy: Policy) -> list[Mapping[str, Any]]:
    """A policy document's statements, always as a list."""
    return as_list(policy["Statement"])


def _matches(statement: Mapping[str, Any], key: str, value: str, *, ignore_case: bool) -> bool:
    if key in statement:
        return any(glob_match(p, value, ignore_case=ignore_case) for p in as_list(statement[key]))
    negated = "Not" + key
    if negated in statement:
        return not any(glob_match(p, value, ignore_case=ignore_case) for p in as_list(statement[negated]))
    raise ValueError(f"statement has neither {key} nor Not{key}: {statement}")


_POSITIVE = {
    "StringEquals": lambda want, got: want == got,
    "StringLike": glob_match,
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": glob_match,
    "Bool": lambda want, got: str(want).lower() == str(got).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike"}
_NEGATED |= {"ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            got = context.get(key)
            if operator in _POSITIVE:
                if got is None or not any(_POSITIVE[operator](w, got) for w in as_list(wanted)):
                    return False
            elif operator in _NEGATED:
                if got is not None and any(_POSITIVE[_NEGATED[operator]](w, got) for w in as_list(wanted)):
                    return False
            else:
                raise ValueError(f"condition operator {operator} is not evaluated here")
    return True


def applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    """Whether one statement speaks to this request (its effect aside)."""
    return (
        _matches(statement, "Action", action, ignore_case=True)
        and _matches(statement, "Resource", resource, ignore_case=False)
        and _condition_holds(statement.get("Condition", {}), context)
    )


def decide(policies: Iterable[Policy], action: str, resource: str, context: Mapping[str, str] | None = None) -> str:
    """`"allow"`, `"deny"` (an explicit Deny) or `"implicit"` (nothing allows) for one request."""
    found = [s for p in policies for s in statements(p) if applies(s, action, resource, context or {})]
    if any(s["Effect"] == "Deny" for s in found):
        return "deny"
    return "allow" if any(s["Effect"] == "Allow" for s in found) else "implicit"


def covers(wide: str, narrow: str) -> bool:
    """Whether the action pattern `wide` matches every action `narrow` can (`s3:*` covers `s3:Get*`)."""
    wide, narrow = wide.lower(), narrow.lower()
    if "*" not in narrow and "?" not in narrow:
        return glob_match(wide, narrow)
    return wide.endswith("*") and "?" not in wide and narrow.startswith(wide[:-1])


def actions_outside(boundary: Policy, granted: Sequence[str]) -> list[str]:
    """The granted action patterns the boundary does not wholly allow (resources and conditions aside).

    A pattern is inside when an Allow statement's action covers it and no Deny statement's action
    overlaps it; a statement with NotAction raises ValueError (not needed by a boundary here).
    """
    allows = [a for s in statements(boundary) if s["Effect"] == "Allow" for a in as_list(s["Action"])]
    denies = [a for s in statements(boundary) if s["Effect"] == "Deny" for a in as_list(s["Action"])]
    return [
        action
        for action in granted
        if not any(covers(a, action) for a in allows) or any(covers(d, action) or covers(action, d) for d in denies)
    ]
