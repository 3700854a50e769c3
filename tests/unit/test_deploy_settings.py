"""Every setting the manuals tell an operator to change is a parameter of the stack they deploy.

An operator deploys template.yaml (`sam deploy`); a parameter only a nested template declares
(infra_core/*.yaml) cannot be set from there. The manuals (README.md, docs/*.md) name a setting to
change as `Name` right after an instruction (set, raise, lower, grow, ...), as `Name=value`, or in a
row of a "parameter" table. Each must be a parameter of template.yaml that reaches the resource it
sets, through every nested template on the way, with the same default at every level.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local_stack.template import ROOT, TEMPLATE_PATH, load_template, samconfig_parameters

MANUALS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEMPLATE = load_template()
NESTED_TYPES = {"AWS::Serverless::Application", "AWS::CloudFormation::Stack"}

# A parameter's name: PascalCase, as CloudFormation's are (`PYTHON=...` is a make variable, not one).
_NAME = r"[A-Z][a-z][A-Za-z0-9]*"
_INSTRUCTION = re.compile(
    rf"\b(?i:set|raise|lower|grow|increase|decrease|reduce|change)\s+"
    rf"((?:`{_NAME}`(?:\s*(?:/|,|\bor\b|\band\b)\s*)?)+)"
)
_ASSIGNMENT = re.compile(rf"`({_NAME})=[^`\s]*`")
_TABLE_HEADER = re.compile(r"^\|\s*parameter\s*\|", re.IGNORECASE)


def told_to_set(text: str) -> set[str]:
    """The parameter names a manual's text tells its reader to set."""
    names: set[str] = set()
    for instruction in _INSTRUCTION.finditer(text):
        names |= set(re.findall(rf"`({_NAME})`", instruction.group(1)))
    names |= set(_ASSIGNMENT.findall(text))
    in_table = False
    for line in (raw.strip() for raw in text.splitlines()):
        if _TABLE_HEADER.match(line):
            in_table = True
        elif in_table and line.startswith("|"):
            names |= set(re.findall(rf"`({_NAME})`", line.split("|")[1]))
        else:
            in_table = False
    return names


def _mentions(node: Any, parameter: str) -> bool:
    """Whether a template value uses the parameter: `!Ref`, `${...}` in `!Sub`, anywhere inside."""
    if isinstance(node, dict):
        if node.get("Ref") == parameter:
            return True
        sub = node.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str) and f"${{{parameter}}}" in text:
            return True
        return any(_mentions(value, parameter) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, parameter) for value in node)
    return False


def uses_of(path: Path, parameter: str) -> list[str]:
    """Where the parameter of the template at `path` takes effect, following it into nested templates.

    Each use is `template:LogicalId` (a resource's property or its condition), or `template:Conditions.Name`.
    Passed to a nested template, it is followed there under the name it is passed as.
    """
    template = load_template(path)
    name = path.relative_to(ROOT).as_posix()
    uses = [
        f"{name}:Conditions.{c}" for c, body in template.get("Conditions", {}).items() if _mentions(body, parameter)
    ]
    for logical_id, spec in template["Resources"].items():
        properties = spec.get("Properties", {})
        if spec["Type"] in NESTED_TYPES:
            child = path.parent / (properties.get("Location") or properties["TemplateURL"])
            for passed_as, value in properties.get("Parameters", {}).items():
                if _mentions(value, parameter):
                    uses += uses_of(child, passed_as)
        elif _mentions(properties, parameter):
            uses.append(f"{name}:{logical_id}")
    return uses


def _passed_straight(path: Path) -> list[tuple[str, str, Any, Any]]:
    """(nested template, parameter, default here, default there) for each `!Ref` passed as it is."""
    template = load_template(path)
    found = []
    for spec in template["Resources"].values():
        if spec["Type"] not in NESTED_TYPES:
            continue
        child_path = path.parent / spec["Properties"]["Location"]
        child = load_template(child_path)
        for passed_as, value in spec["Properties"].get("Parameters", {}).items():
            ref = value.get("Ref") if isinstance(value, dict) else None
            if isinstance(ref, str) and ref in template.get("Parameters", {}):
                here = template["Parameters"][ref].get("Default")
                there = child["Parameters"][passed_as].get("Default")
                found.append((f"{child_path.relative_to(ROOT)}:{passed_as}", ref, here, there))
        if child_path.suffix == ".yaml" and "infra_core" in child_path.parts:
            found += _passed_straight(child_path)
    return found


# ---------------------------------------------------------------- reading the manuals


def test_the_manuals_reader_finds_what_a_sentence_tells_to_set() -> None:
    # GIVEN sentences as the manuals write them, and some that only mention names
    text = (
        "**Do**: raise `MaxWidgets`/`MaxGadgets` or the instance type; then lower\n`PoolSize`.\n"
        "Set `WorkspaceId` and `ChannelId` to the ids. Only with `EnableThing=true`.\n"
        "The outputs give `VpcId`; `PYTHON=/usr/bin/python3` picks the interpreter.\n\n"
        "| parameter | meaning | default |\n|---|---|---|\n| `TableRow`, `OtherRow` | what | `1` |\n\n"
        "| output | meaning |\n|---|---|\n| `AnOutput` | what |\n"
    )
    # THEN the instructions, the assignment and the parameter table's rows are found, and nothing else
    assert told_to_set(text) == {
        "MaxWidgets",
        "MaxGadgets",
        "PoolSize",
        "WorkspaceId",
        "ChannelId",
        "EnableThing",
        "TableRow",
        "OtherRow",
    }


def test_the_runbooks_scaling_settings_are_among_what_the_manuals_tell_to_set() -> None:
    runbook = told_to_set((ROOT / "docs" / "runbook.md").read_text(encoding="utf-8"))
    assert {"CoreMaxInstancesPerTier", "CoreMaxTasksPerTier", "CoreDbInstanceClass", "CoreAllocatedStorageGiB"} <= (
        runbook
    )


@pytest.mark.parametrize("manual", MANUALS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_setting_a_manual_tells_to_change_is_a_parameter_of_the_deployed_stack(manual: Path) -> None:
    # GIVEN what a manual tells its reader to set
    told = told_to_set(manual.read_text(encoding="utf-8"))
    # THEN each is a parameter of template.yaml, the stack `sam deploy` deploys
    assert sorted(told - set(TEMPLATE["Parameters"])) == []


# ---------------------------------------------------------------- reaching what they set


@pytest.mark.parametrize("parameter", sorted(TEMPLATE["Parameters"]))
def test_every_parameter_reaches_what_it_sets(parameter: str) -> None:
    # GIVEN a parameter of the deployed stack
    uses = uses_of(TEMPLATE_PATH, parameter)
    # THEN it takes effect somewhere, not only passed to a nested template that ignores it
    assert uses, f"{parameter} is used nowhere"


@pytest.mark.parametrize(
    ("parameter", "used_in"),
    [
        ("CoreMaxInstancesPerTier", {"infra_core/compute.yaml:WebAutoScalingGroup"}),
        ("CoreMaxTasksPerTier", {"infra_core/compute.yaml:WebScalableTarget"}),
        ("CoreDbInstanceClass", {"infra_core/database.yaml:Database"}),
        ("CoreAllocatedStorageGiB", {"infra_core/database.yaml:Database"}),
        ("CoreSourceRepository", {"infra_core/cicd.yaml:ServicesPipeline", "infra_core/cicd.yaml:AppPipeline"}),
        ("CoreSourceBranch", {"infra_core/cicd.yaml:ServicesPipeline", "infra_core/monitoring.yaml:WebCpuHighAlarm"}),
        ("EtlTransformWorkers", {"template.yaml:EtlCleanJob", "template.yaml:EtlCurateJob"}),
    ],
)
def test_the_operators_settings_reach_the_resources_they_size(parameter: str, used_in: set[str]) -> None:
    assert used_in <= set(uses_of(TEMPLATE_PATH, parameter))


def test_a_setting_passed_down_as_it_is_has_the_same_default_at_every_level() -> None:
    # GIVEN every parameter a template passes to a nested one unchanged (`!Ref`)
    differing = [
        (child, parameter, here, there)
        for child, parameter, here, there in _passed_straight(TEMPLATE_PATH)
        if here is not None and there is not None and str(here) != str(there)
    ]
    # THEN the nested template's default is the one the deployed stack gives: no default there misleads
    assert differing == []


def test_an_empty_database_class_keeps_the_sizing_profiles() -> None:
    platform = load_template(ROOT / "infra_core" / "platform.yaml")
    passed = platform["Resources"]["Database"]["Properties"]["Parameters"]["DbInstanceClass"]
    assert TEMPLATE["Parameters"]["CoreDbInstanceClass"]["Default"] == ""
    assert passed == {
        "Fn::If": [
            "DbInstanceClassGiven",
            {"Ref": "DbInstanceClass"},
            {"Fn::FindInMap": ["Sizing", {"Ref": "SizingProfile"}, "DbInstanceClass"]},
        ]
    }


# ---------------------------------------------------------------- samconfig.toml


@pytest.mark.parametrize("environment", ["default", "dev", "prod", "prod-cost-optimised"])
def test_every_samconfig_override_is_a_parameter_with_an_allowed_value(environment: str) -> None:
    # GIVEN the parameter overrides `sam deploy --config-env <environment>` passes
    overrides = samconfig_parameters(environment)
    assert overrides
    for name, value in overrides.items():
        # THEN each names a parameter of template.yaml and gives it a value CloudFormation accepts
        spec = TEMPLATE["Parameters"].get(name)
        assert spec is not None, name
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), name
        if spec["Type"] == "Number":
            assert spec.get("MinValue", float("-inf")) <= float(value) <= spec.get("MaxValue", float("inf")), name
