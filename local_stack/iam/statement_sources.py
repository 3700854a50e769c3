"""Where each granted statement is written in the template, and the comments beside it.

YAML loaders drop comments, so the least-privilege report finds them by line: cfn-lint's loader
keeps each node's first and last line, and the comments are read from the text. A statement's
comments are the trailing ones on its lines, comment lines inside it, and the comment lines
directly above it. A policy written as one of SAM's policy templates (`- DynamoDBCrudPolicy: …`)
has no statements of its own in the template: its comments are those of its list item.

A grant that no run used is explained by a comment `# unused locally: <why>`; a wildcard action or
resource on a data service by any comment there. Source of the translated names: aws-sam-translator
names a function's or state machine's `Policies[i]` `<LogicalId>RolePolicy<i>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cfnlint.decode.cfn_yaml import loads

UNUSED_MARK = "unused locally:"
_SAM_POLICY_NAME = re.compile(r"^(?P<owner>[A-Za-z0-9]+)RolePolicy(?P<index>\d+)$")
_TRAILING_COMMENT = re.compile(r"\s#\s?(?P<text>.*)$")


@dataclass(frozen=True)
class Source:
    """A statement (or SAM policy item) in a template: its first line (1-based) and its comments."""

    line: int
    comments: tuple[str, ...]
    file: str = "template.yaml"

    @property
    def unused_reason(self) -> str | None:
        """The text after `unused locally:` in any of its comments, or None."""
        for comment in self.comments:
            if UNUSED_MARK in comment:
                return comment.split(UNUSED_MARK, 1)[1].strip() or None
        return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _comments(lines: Sequence[str], node: Any) -> tuple[str, ...]:
    first, end, column = node.start_mark.line, node.end_mark.line, node.start_mark.column
    found: list[str] = []
    above = first - 1  # comment lines above it, written at its list dash or left of it (not the last one's)
    while above >= 0 and lines[above].strip().startswith("#") and _indent(lines[above]) < column:
        found.insert(0, lines[above].strip().lstrip("#").strip())
        above -= 1
    for number in range(first, max(end, first + 1)):
        line = lines[number]
        stripped = line.strip()
        if stripped.startswith("#"):
            if _indent(line) >= column:
                found.append(stripped.lstrip("#").strip())
        elif match := _TRAILING_COMMENT.search(line):
            found.append(match["text"].strip())
    return tuple(found)


@dataclass(frozen=True)
class _Policy:
    """One policy as written: its statements' sources by Sid and by position, or one item source."""

    by_sid: Mapping[str, Source]
    by_index: Sequence[Source]
    item: Source | None = None

    def find(self, sid: str | None, index: int) -> Source | None:
        if sid and sid in self.by_sid:
            return self.by_sid[sid]
        if self.item is not None:
            return self.item
        return self.by_index[index] if index < len(self.by_index) else None


def _statement_nodes(statements: Any) -> list[Any]:
    nodes = []
    for written in statements if isinstance(statements, list) else [statements]:
        # `!If [condition, statement, AWS::NoValue]`: the statement as written.
        node = written["Fn::If"][1] if isinstance(written, dict) and "Fn::If" in written else written
        if isinstance(node, dict):
            nodes.append(node)
    return nodes


def _policy(lines: Sequence[str], statements: Any, file: str) -> _Policy:
    nodes = _statement_nodes(statements)
    sources = [Source(n.start_mark.line + 1, _comments(lines, n), file) for n in nodes]
    by_sid = {str(n["Sid"]): s for n, s in zip(nodes, sources, strict=True) if "Sid" in n}
    return _Policy(by_sid, sources)


class StatementSources:
    """The template's policies, found by the names IAM gives them after translation."""

    def __init__(self, text: str, name: str = "template.yaml", *more: tuple[str, str]) -> None:
        """`text` of the template named `name`, and `more` (text, name) pairs: its nested templates."""
        self._policies: dict[tuple[str, str], _Policy] = {}
        for body, file in ((text, name), *more):
            self._lines, self._file = body.splitlines(), file
            for logical_id, resource in loads(body, file).get("Resources", {}).items():
                self._read(str(logical_id), resource)

    def _read(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        kind, properties = resource.get("Type"), resource.get("Properties") or {}
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            items = properties.get("Policies") or []
            for index, item in enumerate(items if isinstance(items, list) else [items]):
                name = f"{logical_id}RolePolicy{index}"
                if isinstance(item, dict) and "Statement" in item:
                    self._policies[(logical_id, name)] = _policy(self._lines, item["Statement"], self._file)
                elif isinstance(item, dict):
                    node: Any = item  # cfn-lint's dict_node, with its marks
                    source = Source(node.start_mark.line + 1, _comments(self._lines, node), self._file)
                    self._policies[(logical_id, name)] = _Policy({}, [], item=source)
        elif kind == "AWS::IAM::Role":
            for policy in properties.get("Policies") or []:
                name = str(policy.get("PolicyName", ""))
                statements = policy["PolicyDocument"]["Statement"]
                self._policies[(logical_id, name)] = _policy(self._lines, statements, self._file)
        elif kind == "AWS::IAM::ManagedPolicy":
            statements = properties["PolicyDocument"]["Statement"]
            self._policies[(logical_id, "")] = _policy(self._lines, statements, self._file)

    def managed_policy_ids(self) -> list[str]:
        """The logical ids of the template's own managed policies."""
        return [owner for owner, name in self._policies if name == ""]

    def find(self, owner: str, policy_name: str, sid: str | None, index: int) -> Source | None:
        """The source of statement `index` (or `sid`) of `policy_name` on role `owner`, or None.

        `owner` is the role's logical id for an inline policy of an `AWS::IAM::Role`, and the managed
        policy's logical id (with `policy_name` "") for an `AWS::IAM::ManagedPolicy`. SAM's
        `<Resource>RolePolicy<i>` names are found on the function or state machine itself.
        """
        if match := _SAM_POLICY_NAME.match(policy_name):
            policy = self._policies.get((match["owner"], policy_name))
        else:
            policy = self._policies.get((owner, policy_name))
        return policy.find(sid, index) if policy is not None else None
