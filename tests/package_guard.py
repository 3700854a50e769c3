"""What a deployable may import: the standard library, the distributions its requirements install, its own code.

The development environment holds every dependency of every part of shoplake, so a Lambda function or
a container image that imports something its own package lacks would pass every other test and fail
when it first starts in AWS. The tests start such code in a fresh interpreter whose imports are limited
to what it is deployed with: `sitecustomize.py` written by `guard_directory`, placed on the
interpreter's path, refuses every other top-level module as the deployed runtime would.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ALLOWED_VARIABLE = "SHOPLAKE_ALLOWED_IMPORTS"

GUARD = f"""
import importlib.abc, json, os, sys

_ALLOWED = frozenset(json.loads(os.environ[{ALLOWED_VARIABLE!r}]))


class NotInThePackage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in _ALLOWED or top.startswith("_sysconfigdata"):
            return None
        raise ModuleNotFoundError(f"No module named {{name!r}}: not in what this code is deployed with", name=name)


sys.meta_path.insert(0, NotInThePackage())
"""


def requirements(path: Path) -> list[Requirement]:
    """The requirements a requirements.txt lists (comments and blank lines skipped); [] if there is none."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


@cache
def _import_names() -> dict[str, frozenset[str]]:
    """{normalised distribution name: the top-level names it installs}, from this environment."""
    names: dict[str, set[str]] = {}
    for top, distributions in metadata.packages_distributions().items():
        for distribution in distributions:
            names.setdefault(_normalised(distribution), set()).add(top)
    return {name: frozenset(tops) for name, tops in names.items()}


def _normalised(name: str) -> str:
    return name.lower().replace("_", "-")


def distributions(wanted: list[Requirement]) -> set[str]:
    """The distributions `wanted` install: each, and what it requires for its extras, transitively."""
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(r.name, frozenset(r.extras)) for r in wanted]
    while pending:
        name, extras = pending.pop()
        if (_normalised(name), extras) in seen:
            continue
        seen.add((_normalised(name), extras))
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen}


def importable(wanted: list[Requirement], first_party: set[str]) -> set[str]:
    """The top-level module names code deployed with `wanted` and its own `first_party` packages may import."""
    names = _import_names()
    return first_party | {top for distribution in distributions(wanted) for top in names.get(distribution, ())}


def guard_directory(into: Path, allowed: set[str]) -> dict[str, str]:
    """Write the guard as `into/sitecustomize.py`; returns the variables an interpreter needs to run under it.

    Put `into` on the interpreter's PYTHONPATH with the returned variables in its environment.
    """
    into.mkdir(parents=True, exist_ok=True)
    (into / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    return {ALLOWED_VARIABLE: json.dumps(sorted(allowed))}
