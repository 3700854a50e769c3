"""The demo's last word on IAM: which principals ran as their roles, and whether any request was refused.

`make demo` ends with `stage(demo)`. It prints one line per principal that made requests (allowed and
refused), the report's summary over this run's grants (local_stack.iam.report), and raises
`IamDeniedError` naming every refused request, so a demo that needed a permission the template lacks fails.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from local_stack.iam.ledger_file import Run
from local_stack.iam.model import Use
from local_stack.iam.report import report_rows, sources, summary


class IamDeniedError(RuntimeError):
    """A principal was refused a request during the demo: the template lacks a permission its code needs."""


class _Demo(Protocol):
    @property
    def stack(self) -> Any: ...

    def say(self, text: str) -> None: ...


def refused(uses: list[Use]) -> list[Use]:
    """The requests a principal of the template (not the harness) was refused."""
    return [u for u in uses if not u.allowed and u.via != "harness"]


def stage(demo: _Demo) -> None:
    """Print each principal's requests and the least-privilege summary. Raises IamDeniedError on a refusal."""
    stack = demo.stack
    uses = list(stack.iam_ledger.uses)
    allowed = Counter(u.principal for u in uses if u.allowed and u.via != "harness")
    denied = refused(uses)
    for name in sorted(allowed | Counter(u.principal for u in denied)):
        demo.say(f"{name:<36} {allowed[name]:>6,} requests allowed as its role")
    principals = tuple(stack.principals.principal(n) for n in stack.principals.names())
    rows = report_rows([Run(principals, tuple(uses))], sources())
    demo.say(f"this run: {summary(rows)} (make iam-report: every run of the tests and the demo)")
    if denied:
        lines = "; ".join(f"{u.principal} {u.action} on {u.resource}" for u in denied)
        raise IamDeniedError(f"{len(denied)} requests refused by IAM during the demo: {lines}")
    demo.say("no request of any principal was refused")
