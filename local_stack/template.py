"""Read template.yaml the way CloudFormation would: parameters, conditions and intrinsics.

Only what the local stack needs is resolved; an intrinsic it cannot resolve raises
`TemplateError` naming the resource, rather than being guessed.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode.cfn_yaml import loads

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
SAMCONFIG_PATH = ROOT / "samconfig.toml"
NO_VALUE = object()


class TemplateError(ValueError):
    pass


def _plain(node: Any) -> Any:
    """cfn-lint's nodes carry line marks; the local stack wants plain dicts and lists."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template: dict[str, Any] = _plain(loads(path.read_text(encoding="utf-8"), str(path)))
    return template


def samconfig_parameters(config_env: str = "dev", path: Path = SAMCONFIG_PATH) -> dict[str, str]:
    """The parameter overrides `sam deploy --config-env <config_env>` would pass."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    overrides = config.get(config_env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    pairs = shlex.split(overrides) if isinstance(overrides, str) else list(overrides)
    return dict(pair.split("=", 1) for pair in pairs)


@dataclass
class Resolver:
    """Resolves intrinsic functions against parameters, conditions and created resources."""

    template: Mapping[str, Any]
    parameters: dict[str, str]
    pseudo: dict[str, str]
    ref_of: Callable[[str], str] = lambda logical_id: logical_id
    attr_of: Callable[[str, str], str] = lambda logical_id, attr: f"{logical_id}.{attr}"
    conditions: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def for_template(
        cls, template: Mapping[str, Any], overrides: Mapping[str, str], pseudo: Mapping[str, str]
    ) -> Resolver:
        params: dict[str, str] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            value = overrides.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no default and no value was given")
            allowed = spec.get("AllowedValues")
            if allowed and str(value) not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            params[name] = str(value)
        resolver = cls(template=template, parameters=params, pseudo=dict(pseudo))
        for name, expression in (template.get("Conditions") or {}).items():
            resolver.conditions[name] = bool(resolver.resolve(expression))
        return resolver

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            expression = (self.template.get("Conditions") or {}).get(name)
            if expression is None:
                raise TemplateError(f"unknown condition {name}")
            self.conditions[name] = bool(self.resolve(expression))
        return self.conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.ref_of(name)

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.index("}", start)
            name = text[start + 2 : end]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                logical_id, attr = name.split(".", 1)
                out.append(str(self.attr_of(logical_id, attr)))
            else:
                out.append(str(self.ref(name)))
            i = end + 1
        return "".join(out)

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per intrinsic
        if isinstance(node, list):
            items = [self.resolve(v) for v in node]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self._sub(arg, {})
                return self._sub(arg[0], {k: self.resolve(v) for k, v in arg[1].items()})
            if key == "Fn::GetAtt":
                logical_id, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.attr_of(logical_id, attr)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg))
            if key.startswith("Fn::"):
                raise TemplateError(f"the local stack cannot resolve {key}")
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def references(node: Any) -> set[str]:
    """Logical ids a node refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for v in node:
            found |= references(v)
    elif isinstance(node, Mapping):
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg.split(".", 1)[0])  # SAM's Function.Version and Function.Alias name the function
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for part in text.split("${")[1:]:
                    found.add(part.split("}", 1)[0].split(".", 1)[0])
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with the template's Globals applied, as SAM applies them."""
    props = dict(template["Resources"][logical_id].get("Properties") or {})
    defaults = (template.get("Globals") or {}).get("Function") or {}
    for key, value in defaults.items():
        if key not in props:
            props[key] = value
        elif key == "Environment":
            merged = dict(value.get("Variables") or {})
            merged.update((props[key] or {}).get("Variables") or {})
            props[key] = {"Variables": merged}
        elif key == "Layers":
            props[key] = [*value, *props[key]]
        elif isinstance(value, Mapping) and isinstance(props[key], Mapping):
            props[key] = {**value, **props[key]}
    return props


def night_rulesets(template: Mapping[str, Any]) -> dict[str, str]:
    """{curated table: logical id of its AWS::Glue::DataQualityRuleset}, read from the nightly quality job's
    `--rulesets` (`EtlQualityJob`), a `!Sub` of JSON that names each ruleset `${LogicalId}`: the one list of
    what the night checks, for the tests and the benchmarks. Raises KeyError or ValueError if it is not that.
    """
    text = template["Resources"]["EtlQualityJob"]["Properties"]["DefaultArguments"]["--rulesets"]["Fn::Sub"]
    named = json.loads(re.sub(r"\$\{(\w+)\}", r"\1", text))
    return {str(table): str(logical_id) for table, logical_id in named.items()}


def night_ruleset_texts(template: Mapping[str, Any]) -> dict[str, str]:
    """{curated table: its deployed DQDL text} for every table `night_rulesets` names."""
    resources = template["Resources"]
    return {
        table: str(resources[logical]["Properties"]["Ruleset"]) for table, logical in night_rulesets(template).items()
    }
