"""The core platform's templates (infra_core/), loaded once for the tests that check what they promise."""

from __future__ import annotations

from typing import Any

from local_stack.template import ROOT, load_template

INFRA = ROOT / "infra_core"
PLATFORM = load_template(INFRA / "platform.yaml")
CHILD_PATHS = {logical_id: INFRA / spec["Properties"]["Location"] for logical_id, spec in PLATFORM["Resources"].items()}
CHILDREN = {logical_id: load_template(path) for logical_id, path in CHILD_PATHS.items()}
# Every template under infra_core/, children and the copy vault deployed in the second region.
ALL_PATHS = sorted(INFRA.glob("*.yaml"))
ALL = {path.name: load_template(path) for path in ALL_PATHS}
REGION = "ap-northeast-2"
TWO_ZONES = [
    {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
]


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def everywhere(resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, logical_id, spec)
        for name, template in ALL.items()
        for logical_id, spec in resources_of(template, resource_type).items()
    ]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
