"""The core platform's templates as a deployment reads them: what each sizing profile and parameter creates.

`Templates` holds platform.yaml and its children; `created` lists the resources of a type that a
deployment with given parameter values makes (their conditions evaluated); `default` is a
parameter's default. The cost estimate (infra_core/estimate.py) counts from these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.template import load_template

HERE = Path(__file__).resolve().parent
PLATFORM_PATH = HERE / "platform.yaml"


@dataclass(frozen=True)
class Templates:
    """The parent and its children, each as CloudFormation would read it."""

    platform: dict[str, Any]
    children: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, platform_path: Path = PLATFORM_PATH) -> Templates:
        platform = load_template(platform_path)
        children = {
            logical_id: load_template(platform_path.parent / spec["Properties"]["Location"])
            for logical_id, spec in platform["Resources"].items()
        }
        return cls(platform=platform, children=children)

    def settings(self, profile: str) -> dict[str, str]:
        """The values a sizing profile of platform.yaml gives its children."""
        return dict(self.platform["Mappings"]["Sizing"][profile])

    def profiles(self) -> list[str]:
        return list(self.platform["Mappings"]["Sizing"])


def default(template: Mapping[str, Any], parameter: str) -> Any:
    """The parameter's default in `template` (KeyError if it has none)."""
    return template["Parameters"][parameter]["Default"]


def _condition_holds(template: Mapping[str, Any], name: str, parameters: Mapping[str, str]) -> bool:
    """Evaluates the few condition functions the children use, against given parameter values."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            ref = node["Ref"]
            return parameters.get(ref, template["Parameters"].get(ref, {}).get("Default"))
        return node

    def holds(node: Any) -> bool:
        if isinstance(node, dict) and "Condition" in node:
            return holds(template["Conditions"][node["Condition"]])
        (function, arguments), *_ = node.items()
        if function == "Fn::Equals":
            return bool(value(arguments[0]) == value(arguments[1]))
        if function == "Fn::Not":
            return not holds(arguments[0])
        if function == "Fn::And":
            return all(holds(a) for a in arguments)
        if function == "Fn::Or":
            return any(holds(a) for a in arguments)
        raise ValueError(f"cannot evaluate {function} in condition {name}")

    return holds(template["Conditions"][name])


def created(
    template: Mapping[str, Any], resource_type: str, parameters: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The resources of a type that a deployment with these parameter values creates."""
    found = []
    for spec in template["Resources"].values():
        if spec["Type"] != resource_type:
            continue
        condition = spec.get("Condition")
        if condition and not _condition_holds(template, condition, parameters or {}):
            continue
        found.append(spec)
    return found
