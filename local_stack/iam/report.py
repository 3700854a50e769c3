"""The least-privilege report: per principal, what its role grants, what the runs used, what was never used.

`make iam-report` (`python -m local_stack.iam.report --check`) reads the ledgers the local stacks
wrote (local_stack.iam.ledger_file) during `make test` and `make demo`. A grant is one action
pattern of one Allow statement; it was used when the evaluator named its statement as the one that
allowed a request of that principal (the ledger records it) and the request's action matched it.
Exit status 1 (with `--check`) when a grant was never used and carries no `# unused locally: <why>`
beside its statement, when a wildcard action or resource on a data service carries no comment at all
(local_stack.iam.statement_sources), or when a principal was refused a request in a run that did
not expect refusals (`LocalStack(expect_refusals=True)`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from local_stack.iam.ledger_file import Run, ledger_dir, read_runs
from local_stack.iam.model import Principal, Use
from local_stack.iam.statement_sources import Source, StatementSources
from local_stack.template import TEMPLATE_PATH

# Grants no local run can use, because the service itself makes the calls, explained once here.
NOT_EMULATED = {
    "AWSLambdaBasicExecutionRole": "the Lambda service writes the function's own logs; not emulated locally",
    "AWSXrayWriteOnlyAccess": "the Lambda and Step Functions runtimes send the X-Ray traces; not emulated locally",
    "CloudWatchReadOnlyAccess": "AWS Chatbot reads alarms and metrics for the Slack channel; not emulated locally",
    "AmazonECSTaskExecutionRolePolicy": "the ECS agent pulls the image and writes the task's logs; not emulated",
}
SAM_GENERATED = {
    "EventInvokeConfigOnFailureSQSPolicy": "Lambda itself sends a failed asynchronous event to the dead-letter queue",
    "EventInvokeConfigOnFailureSNSPolicy": "Lambda itself sends a failed asynchronous event to the alert topic",
}
# Services whose resources hold the shop's or the lake's data: a wildcard there needs a reason beside it.
DATA_SERVICES = frozenset(
    {"s3", "dynamodb", "glue", "secretsmanager", "kms", "sqs", "sns", "kinesis", "firehose", "athena", "rds-db"}
)


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class Grant:
    """One action pattern of one Allow statement of one principal's role (`*` less `excluded` for NotAction)."""

    principal: str
    policy: str
    sid: str
    index: int
    action: str
    resources: tuple[str, ...]
    not_resource: bool = False
    excluded: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """The statement as the evaluator names it: "<policy name>#<Sid or index>"."""
        return f"{self.policy}#{self.sid or self.index}"

    def covers(self, use: Use) -> bool:
        """Whether this grant's statement is what allowed `use` (the evaluator names it in the ledger)."""
        if use.principal != self.principal or not use.allowed or self.where not in use.statement.split(", "):
            return False
        if any(_glob(pattern, True).match(use.action) for pattern in self.excluded):
            return False
        return bool(_glob(self.action, True).match(use.action))

    @property
    def wildcard(self) -> bool:
        """A wildcard action, or every resource of a kind (`*`, `table/*`, `secret:*`, `*/*`), on a data service."""
        service = self.action.split(":", 1)[0].lower()
        if service not in DATA_SERVICES and service != "*":
            return False
        return "*" in self.action or any(_every_resource(r) for r in self.resources)


def _every_resource(resource: str) -> bool:
    """`*`, or an ARN whose resource part names every resource of its type (or every bucket)."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return False
    service, name = parts[2], parts[5]
    if service == "s3":
        return name.startswith("*")
    return name == "*" or bool(re.fullmatch(r"[A-Za-z-]+[/:]\*", name))


def grants(principal: Principal) -> list[Grant]:
    """Every action pattern each Allow statement of the principal's identity policies grants."""
    found = []
    for policy_name, document in principal.policies:
        for index, statement in enumerate(_as_list(document.get("Statement", []))):
            if statement.get("Effect") != "Allow":
                continue
            not_resource = "NotResource" in statement
            resources = tuple(
                str(r) for r in _as_list(statement.get("NotResource" if not_resource else "Resource", "*"))
            )
            sid = str(statement.get("Sid", ""))
            if "NotAction" in statement:  # everything but: one grant, always a wildcard
                excluded = tuple(str(a) for a in _as_list(statement["NotAction"]))
                found.append(Grant(principal.name, policy_name, sid, index, "*", resources, not_resource, excluded))
                continue
            for action in _as_list(statement.get("Action", [])):
                found.append(Grant(principal.name, policy_name, sid, index, str(action), resources, not_resource))
    return found


@dataclass
class Row:
    """One grant in the report, merged over every run."""

    grant: Grant
    used: set[str] = field(default_factory=set)
    unused_reason: str | None = None
    wildcard_reason: str | None = None
    line: int | None = None
    file: str = ""

    @property
    def unexplained(self) -> list[str]:
        faults = []
        if not self.used and not self.unused_reason:
            faults.append("granted, never used, and no '# unused locally: <why>' beside it")
        if self.grant.wildcard and not self.wildcard_reason:
            faults.append("a wildcard on a data service with no reason beside it")
        return faults


def _owner(principal: Principal) -> str:
    return principal.role_name.rsplit("-", 1)[-1]


def _explain(row: Row, principal: Principal, sources: StatementSources) -> None:
    name = row.grant.policy
    leaf = name.rsplit("/", 1)[-1]
    if name.startswith("arn:") and ":iam::aws:policy/" in name:
        row.unused_reason = row.wildcard_reason = NOT_EMULATED.get(leaf)
        return
    generated = next((why for suffix, why in SAM_GENERATED.items() if name.endswith(suffix)), None)
    if generated:
        row.unused_reason = row.wildcard_reason = generated
        return
    if name.startswith("arn:"):  # the template's own managed policy, attached
        owner = next((m for m in sources.managed_policy_ids() if leaf == m or leaf.endswith(f"-{m}")), leaf)
        source: Source | None = sources.find(owner, "", row.grant.sid, row.grant.index)
    else:
        source = sources.find(_owner(principal), name, row.grant.sid, row.grant.index)
    if source is not None:
        row.line, row.file, row.unused_reason = source.line, source.file, source.unused_reason
        row.wildcard_reason = "; ".join(source.comments) or None


def report_rows(runs: Iterable[Run], sources: StatementSources) -> dict[str, list[Row]]:
    """Rows per principal name, each grant's used actions merged over the runs (a run judges its own grants)."""
    rows: dict[str, dict[tuple[str, int, str], Row]] = {}
    for run in runs:
        for principal in run.principals:
            mine = [u for u in run.uses if u.principal == principal.name]
            for grant in grants(principal):
                key = (grant.policy, grant.index, grant.action)
                row = rows.setdefault(principal.name, {}).get(key)
                if row is None:
                    row = rows[principal.name][key] = Row(grant)
                    _explain(row, principal, sources)
                row.used |= {u.action for u in mine if grant.covers(u)}
    return {name: list(by_key.values()) for name, by_key in sorted(rows.items())}


def denied(runs: Iterable[Run]) -> list[Use]:
    """Every request a principal was refused, once each (action and resource)."""
    seen: dict[tuple[str, str, str], Use] = {}
    for run in runs:
        for use in run.uses:
            if not use.allowed and use.via != "harness":
                seen.setdefault((use.principal, use.action, use.resource), use)
    return list(seen.values())


def render(rows: Mapping[str, Sequence[Row]], console: Console) -> None:
    """The report as one table per principal."""
    for principal, principal_rows in rows.items():
        table = Table(title=principal, title_justify="left", show_lines=False)
        for column in ("policy / Sid", "granted", "used", "unused because"):
            table.add_column(column, overflow="fold")
        for row in principal_rows:
            where = row.grant.sid or row.grant.policy.rsplit("/", 1)[-1]
            status = ", ".join(sorted(row.used)) if row.used else "-"
            why = "" if row.used else (row.unused_reason or "[red]NOT EXPLAINED[/red]")
            table.add_row(where, row.grant.action, status, why)
        console.print(table)


def summary(rows: Mapping[str, Sequence[Row]]) -> str:
    """One line: principals, grants, used, unused and explained, and faults."""
    every = [r for rs in rows.values() for r in rs]
    used = sum(1 for r in every if r.used)
    faults = sum(1 for r in every if r.unexplained)
    return (
        f"{len(rows)} principals, {len(every)} grants: {used} used, "
        f"{len(every) - used} unused and explained beside their statements, {faults} unexplained"
    )


def sources(template: Path = TEMPLATE_PATH) -> StatementSources:
    """The statements of the template and of the nested core platform's (the shop's task roles)."""
    nested = [(p.read_text(encoding="utf-8"), p.name) for p in sorted((template.parent / "infra_core").glob("*.yaml"))]
    return StatementSources(template.read_text(encoding="utf-8"), template.name, *nested)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ledgers", type=Path, default=None, help="ledger directory (default: .local/iam)")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 on an unexplained grant or wildcard")
    parser.add_argument("--quiet", action="store_true", help="no tables: only refusals, faults and the summary")
    args = parser.parse_args(argv)
    runs = list(read_runs(args.ledgers))
    if not runs:
        sys.stderr.write(f"no IAM ledgers in {args.ledgers or ledger_dir()}: run `make test` or `make demo` first\n")
        return 1
    rows = report_rows(runs, sources(args.template))
    console = Console(width=160)
    if not args.quiet:
        render(rows, console)
    for use in denied(runs):
        console.print(f"refused during the runs: {use.principal} {use.action} on {use.resource}", markup=False)
    faults = [(p, r, f) for p, rs in rows.items() for r in rs for f in r.unexplained]
    refusals = denied(run for run in runs if not run.refusals_expected)
    for principal, row, fault in faults:
        line = f" ({row.file} line {row.line})" if row.line else ""
        console.print(
            f"{principal} {row.grant.sid or row.grant.policy} {row.grant.action}{line}: {fault}", markup=False
        )
    console.print(summary(rows), markup=False)
    if refusals:
        console.print(f"{len(refusals)} requests refused during runs on the template as written", markup=False)
    return 1 if args.check and (faults or refusals) else 0


if __name__ == "__main__":
    raise SystemExit(main())
