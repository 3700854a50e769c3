"""Evaluate DQDL rulesets on an Arrow table, with Glue Data Quality's meaning of each rule.

In AWS, Glue Data Quality evaluates the rulesets declared in template.yaml. Here the same
rule text is evaluated on the same Parquet data, for the tests and the local stack. Only
the rule types shoplake's rulesets use are supported; any other rule is an error, never a
silent pass. As in Glue, a NULL fails `ColumnValues` and counts as length 0 for `ColumnLength`.

DQDL: AWS Glue Developer Guide, "Data Quality Definition Language (DQDL) reference"
(https://docs.aws.amazon.com/glue/latest/dg/dqdl.html). Supported: `RowCount`, `IsComplete`,
`Completeness`, `IsUnique`, `Uniqueness`, `ColumnLength` and `ColumnValues`, with one comparison
(`> >= < <= = !=` and a number) or, for `ColumnValues`, `in ["a", "b"]`; no composite rules, `between`,
`where` clauses or thresholds.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}
_ARROW_OPS = {
    ">": pc.greater,
    ">=": pc.greater_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    "=": pc.equal,
    "!=": pc.not_equal,
}
_RULE = re.compile(
    r'^(?P<type>[A-Za-z]+)(?P<columns>(?:\s+"[^"]+")*)\s*(?P<expression>.*)$',
    re.DOTALL,
)
_COMPARE = re.compile(r"^(>=|<=|!=|>|<|=)\s*(-?\d+(?:\.\d+)?)$")
_IN_LIST = re.compile(r"^in\s*\[(.*)\]$", re.DOTALL)


class DqdlError(ValueError):
    """A ruleset this evaluator cannot read; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    """One parsed rule: its text, rule type, quoted column names, and the expression after them."""

    text: str
    type: str
    columns: tuple[str, ...]
    expression: str


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome: the rule's text, whether it passed, and what was measured ("3 rows fail")."""

    rule: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Evaluation:
    """A ruleset's outcome: one result per rule, in the ruleset's order."""

    results: tuple[RuleResult, ...]

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """The results of the rules that failed, in order."""
        return tuple(r for r in self.results if not r.passed)

    @property
    def score(self) -> float:
        """The fraction of rules that passed, 0.0-1.0 (1.0 for an empty ruleset), as Glue's score."""
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 1.0


def _split_rules(body: str) -> list[str]:
    rules, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(body):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "[":
            depth += 1
        elif not quoted and char == "]":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            rules.append(body[start:i].strip())
            start = i + 1
    rules.append(body[start:].strip())
    return [r for r in rules if r]


def parse(ruleset: str) -> list[Rule]:
    """Split a DQDL ruleset (`Rules = [ rule, rule, ... ]`) into its rules, in order.

    Commas inside quotes or `[...]` do not split. Raises DqdlError when the text is not `Rules = [...]` or
    a rule does not start with a rule type. Expressions are checked only when evaluated.
    """
    match = re.match(r"^\s*Rules\s*=\s*\[(.*)\]\s*$", ruleset, re.DOTALL)
    if not match:
        raise DqdlError("a ruleset is `Rules = [ rule, rule, ... ]`")
    rules = []
    for text in _split_rules(match.group(1)):
        parsed = _RULE.match(text)
        if not parsed:
            raise DqdlError(f"cannot read rule: {text}")
        columns = tuple(re.findall(r'"([^"]+)"', parsed.group("columns")))
        rules.append(Rule(text, parsed.group("type"), columns, parsed.group("expression").strip()))
    return rules


def _compare(value: float, expression: str, rule: Rule) -> bool:
    match = _COMPARE.match(expression)
    if not match:
        raise DqdlError(f"unsupported expression in rule: {rule.text}")
    return bool(_OPS[match.group(1)](value, float(match.group(2))))


def _column(table: pa.Table, rule: Rule) -> pa.ChunkedArray:
    if len(rule.columns) != 1:
        raise DqdlError(f"expected one column in rule: {rule.text}")
    if rule.columns[0] not in table.column_names:
        raise DqdlError(f"column {rule.columns[0]!r} of rule {rule.text} is not in the data")
    column = table.column(rule.columns[0])
    # Money is decimal in the lake; comparisons with DQDL's numbers need a common type.
    return pc.cast(column, pa.float64()) if pa.types.is_decimal(column.type) else column


def _all_rows(mask: pa.ChunkedArray, rows: int) -> tuple[bool, int]:
    passing = pc.sum(pc.fill_null(mask, False)).as_py() or 0  # NULL fails, as in Glue
    return passing == rows, rows - passing


def evaluate_rule(table: pa.Table, rule: Rule) -> RuleResult:  # noqa: PLR0911 - one answer per rule type
    """Evaluate one rule on an Arrow table, with Glue's meaning of the rule type.

    Ratios (`Completeness`, `Uniqueness`) are 0-1 fractions of all rows; decimals compare as float64;
    `ColumnLength` counts characters. Raises DqdlError for an unsupported rule type or expression, a rule
    naming other than one column, or a column that is not in the table; comparing a column Arrow cannot
    compare with a number raises pyarrow's ArrowNotImplementedError.
    """
    rows = table.num_rows
    if rule.type == "RowCount":
        return RuleResult(rule.text, _compare(rows, rule.expression, rule), f"{rows} rows")
    column = _column(table, rule)
    if rule.type == "IsComplete":
        nulls = column.null_count
        return RuleResult(rule.text, nulls == 0, f"{nulls} missing")
    if rule.type == "Completeness":
        ratio = (rows - column.null_count) / rows if rows else 1.0
        return RuleResult(rule.text, _compare(ratio, rule.expression, rule), f"completeness {ratio:.3f}")
    if rule.type in ("IsUnique", "Uniqueness"):
        counts = pc.value_counts(column.drop_null() if rule.type == "IsUnique" else column)
        duplicated = pc.sum(pc.greater(counts.field("counts"), 1)).as_py() or 0
        if rule.type == "IsUnique":
            return RuleResult(rule.text, duplicated == 0 and column.null_count == 0, f"{duplicated} values repeat")
        unique = pc.sum(pc.equal(counts.field("counts"), 1)).as_py() or 0
        ratio = unique / rows if rows else 1.0
        return RuleResult(rule.text, _compare(ratio, rule.expression, rule), f"uniqueness {ratio:.3f}")
    if rule.type == "ColumnLength":
        match = _COMPARE.match(rule.expression)
        if not match:
            raise DqdlError(f"unsupported expression in rule: {rule.text}")
        lengths = pc.fill_null(pc.utf8_length(column), 0)  # NULL counts as length 0
        passed, failing = _all_rows(_ARROW_OPS[match.group(1)](lengths, int(float(match.group(2)))), rows)
        return RuleResult(rule.text, passed, f"{failing} rows fail")
    if rule.type == "ColumnValues":
        listed = _IN_LIST.match(rule.expression)
        if listed:
            allowed = pa.array(re.findall(r'"([^"]*)"', listed.group(1)), type=pa.string())
            passed, failing = _all_rows(pc.is_in(pc.cast(column, pa.string()), value_set=allowed), rows)
            return RuleResult(rule.text, passed, f"{failing} rows fail")
        match = _COMPARE.match(rule.expression)
        if not match:
            raise DqdlError(f"unsupported expression in rule: {rule.text}")
        passed, failing = _all_rows(_ARROW_OPS[match.group(1)](column, float(match.group(2))), rows)
        return RuleResult(rule.text, passed, f"{failing} rows fail")
    raise DqdlError(f"rule type {rule.type} is not supported locally: {rule.text}")


def evaluate(table: pa.Table, ruleset: str) -> Evaluation:
    """Evaluate a DQDL ruleset on an Arrow table; raises DqdlError as `parse` and `evaluate_rule` do."""
    return Evaluation(tuple(evaluate_rule(table, rule) for rule in parse(ruleset)))
