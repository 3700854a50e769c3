"""Every public function, method and class of the layer and the Glue library says what it takes and gives.

Public: a name without a leading underscore, in a module without one, not inside a function and not inside
a private class. The walk reads the source with `ast` (nothing is imported from the walked modules), so a
module that needs Glue's runtime is checked like any other.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.template import ROOT

PACKAGES = ("shoplake", "shoplake_etl")


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not an installed package"
    folder = Path(next(iter(spec.submodule_search_locations))).resolve()
    assert folder.is_relative_to(ROOT.resolve()), f"{name} is imported from {folder}, outside the repository"
    return folder


def _modules(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder)
        if "tests" in relative.parts or path.name.startswith("test_"):
            continue
        private_module = path.stem.startswith("_") and path.stem not in ("__init__", "__main__")
        if private_module or any(part.startswith("_") for part in relative.parts[:-1]):
            continue
        yield path


def undocumented(source: str, where: str) -> list[str]:
    """`where:line qualified.name` for each public definition in `source` without a docstring."""
    missing: list[str] = []

    def visit(node: ast.AST, scope: tuple[str, ...], public: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                is_public = public and not child.name.startswith("_")
                if is_public and ast.get_docstring(child) is None:
                    missing.append(f"{where}:{child.lineno} {'.'.join((*scope, child.name))}")
                if isinstance(child, ast.ClassDef):
                    visit(child, (*scope, child.name), is_public)
                # A function's body is its own business: nested definitions are not public.
            else:
                visit(child, scope, public)

    visit(ast.parse(source), (), True)
    return missing


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_definition_has_a_docstring(package: str) -> None:
    # GIVEN the package's modules, as the installed package finds them
    folder = _package_folder(package)
    modules = list(_modules(folder))
    assert modules, f"no modules found in {folder}"
    # WHEN each is read for its public definitions
    missing = [
        name
        for path in modules
        for name in undocumented(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT.resolve())))
    ]
    # THEN none lacks a docstring
    assert not missing, f"{len(missing)} public definition(s) without a docstring:\n" + "\n".join(missing)


def test_the_walk_names_only_public_definitions_without_docstrings() -> None:
    # GIVEN a module with documented, undocumented, private and nested definitions
    source = '''
def documented():
    """Yes."""

def bare():
    def nested():
        pass

def _private():
    pass

class Thing:
    def method(self):
        pass

    def _helper(self):
        pass

    class Inner:
        """Documented."""

        def deep(self):
            pass

class _Hidden:
    def visible_name(self):
        pass

if True:
    def conditional():
        pass
'''
    # WHEN it is walked
    missing = undocumented(source, "m.py")
    # THEN exactly the public undocumented ones are named, with their line and scope
    assert missing == [
        "m.py:5 bare",
        "m.py:12 Thing",
        "m.py:13 Thing.method",
        "m.py:22 Thing.Inner.deep",
        "m.py:30 conditional",
    ]
