"""The deploy-role tests' view of the local stack's IAM evaluator (local_stack/iam/evaluate.py).

`decide` asks one request of a set of identity policies, as AWS would for one principal in one
account, and answers `"allow"`, `"deny"` (an explicit Deny) or `"implicit"` (nothing allows); the
logic, the operators and the errors (ValueError on anything not evaluated) are evaluate.py's.
`covers` and `actions_outside` compare action patterns, which evaluation does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from local_stack.iam.evaluate import Caller, as_list, evaluate, glob_match, statements
from local_stack.iam.model import PolicyDocument

Policy = PolicyDocument
__all__ = ["Policy", "actions_outside", "as_list", "covers", "decide", "glob_match", "statements"]

_CALLER = Caller(arn="arn:aws:sts::123456789012:assumed-role/deployer/test", account="123456789012")


def decide(policies: Iterable[Policy], action: str, resource: str, context: Mapping[str, str] | None = None) -> str:
    """`"allow"`, `"deny"` (an explicit Deny) or `"implicit"` (nothing allows) for one request."""
    named = [(f"policy{i}", p) for i, p in enumerate(policies)]
    decision = evaluate(_CALLER, action, resource, identity=named, context=context)
    if decision.allowed:
        return "allow"
    return "deny" if "explicit deny" in decision.reason else "implicit"


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
