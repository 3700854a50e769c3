"""The shop's ECS task roles, from the nested core platform (template.yaml `CorePlatform` -> infra_core).

Nothing else of infra_core runs locally, but the shop's code does, and it must run as its task role.
The `Location` chain is followed from the parent, and each child's `Parameters` are resolved with its
parent's resolver, as CloudFormation passes them down. A value only a child stack that does not run
locally could give (`!GetAtt Edge.Outputs.ProductImagesBucketName`, a `!FindInMap`) becomes the
stand-in `<name>-local` (`arn:aws:local:::<name>` for an ARN).
A task role is any `AWS::IAM::Role` that `ecs-tasks.amazonaws.com` may assume.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from local_stack.template import Resolver, TemplateError, load_template

if TYPE_CHECKING:
    from local_stack.provision import Stack

TASK_SERVICE = "ecs-tasks.amazonaws.com"


def _stand_in(logical_id: str, attribute: str) -> str:
    name = attribute.rsplit(".", 1)[-1]
    return f"arn:aws:local:::{name}" if name.endswith("Arn") else f"{name}-local"


def _child_parameters(resolver: Resolver, parameters: Mapping[str, Any]) -> dict[str, str]:
    resolved = {}
    for name, value in parameters.items():
        try:
            result = resolver.resolve(value)
        except (TemplateError, KeyError):  # made by a child stack, or a mapping, the local stack does not have
            result = _stand_in("", name)
        resolved[name] = ",".join(map(str, result)) if isinstance(result, list) else str(result)
    return resolved


def _children(template: Mapping[str, Any], resolver: Resolver, base: Path) -> Iterator[tuple[dict[str, Any], Resolver]]:
    """Every nested application below `template`, each with a resolver of its own parameters."""
    for spec in template["Resources"].values():
        props = spec.get("Properties") or {}
        if spec["Type"] != "AWS::Serverless::Application" or not isinstance(props.get("Location"), str):
            continue
        path = base / props["Location"]
        child = load_template(path)
        parameters = _child_parameters(resolver, props.get("Parameters") or {})
        defaults = {
            name: spec.get("Default", f"{name}-local") for name, spec in (child.get("Parameters") or {}).items()
        }
        child_resolver = Resolver(child, {**defaults, **parameters}, dict(resolver.pseudo))
        child_resolver.attr_of = _stand_in
        child_resolver.ref_of = lambda logical_id: f"{logical_id}-local"
        yield child, child_resolver
        yield from _children(child, child_resolver, path.parent)


def _is_task_role(spec: Mapping[str, Any]) -> bool:
    trust = json.dumps((spec.get("Properties") or {}).get("AssumeRolePolicyDocument") or {})
    return spec["Type"] == "AWS::IAM::Role" and TASK_SERVICE in trust


def create_task_roles(session: boto3.Session, stack: Stack) -> list[str]:
    """Create every nested task role in moto's IAM (into `stack.roles`, each its own principal); returns their ids."""
    resolver = replace(stack.resolver, attr_of=_stand_in)
    made = []
    for child, child_resolver in _children(stack.template, resolver, stack.base_dir):
        for logical_id, spec in child["Resources"].items():
            if not _is_task_role(spec) or logical_id in stack.roles.roles:
                continue
            # its PermissionsBoundary is the parent's ApplicationRoleBoundary ARN, passed down as a parameter
            name, _ = stack.roles.role(session, logical_id, child_resolver.resolve(spec.get("Properties") or {}))
            stack.principal_roles[logical_id] = logical_id
            made.append(name)
    return made
