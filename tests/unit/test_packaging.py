"""Each deployable packages exactly what it needs, and imports flow one way: product -> never the harness."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from local_stack.template import ROOT, function_properties, load_template
from shoplake import glue_library

TEMPLATE = load_template()
FUNCTIONS = sorted(k for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
BUILT = ROOT / ".aws-sam" / "build"
# What runs in AWS or for its users (infra_core is templates and a cost tool read on a developer's machine).
PRODUCT = ("shoplake", "shoplake_etl", "shop", "analytics")
HARNESS = ("local_stack", "tests", "bench")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _package_folder(name: str) -> Path:
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    (folder,) = [ROOT / p for p in wheel["packages"] if Path(p).name == name]
    return folder


@pytest.mark.parametrize("package", PRODUCT)
def test_the_product_never_imports_the_local_stack_or_the_tests(package: str) -> None:
    # GIVEN every module of a product package (what AWS runs)
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & set(HARNESS))
        for path in _package_folder(package).rglob("*.py")
    }
    # THEN none imports the harness that runs it locally
    assert {path: roots for path, roots in offenders.items() if roots} == {}


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_lives_under_functions(logical_id: str) -> None:
    code_uri = function_properties(TEMPLATE, logical_id)["CodeUri"]
    assert code_uri.startswith("functions/") and (ROOT / code_uri / "app.py").is_file()


def test_nothing_sets_pythonpath_the_packages_are_installed() -> None:
    # The Makefile and pytest's configuration rely on the editable install, not on PYTHONPATH.
    assert "PYTHONPATH" not in (ROOT / "Makefile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "pythonpath" not in pyproject["tool"]["pytest"]["ini_options"]
    assert re.search(r"pip install .*--editable \.", (ROOT / "Makefile").read_text())


@pytest.mark.build
def test_the_glue_library_function_packages_its_handler_and_the_etl_library_only() -> None:
    # GIVEN `sam build` (make test runs it before the tests)
    built = BUILT / "GlueLibraryFunction"
    if not built.is_dir():
        pytest.skip("sam build has not run here (make test runs it)")
    # THEN its package is the handler, shoplake_etl's sources and the jobs' scripts beside them, exactly
    # (shoplake comes from the layer)
    files = {str(p.relative_to(built)) for p in built.rglob("*") if p.is_file()}
    etl = {
        f"shoplake_etl/{p.relative_to(ROOT / 'glue' / 'shoplake_etl')}"
        for p in (ROOT / "glue" / "shoplake_etl").rglob("*.py")
    }
    assert files == {"app.py", *etl, *glue_library.JOB_SCRIPTS}


@pytest.mark.build
def test_the_shared_layer_carries_the_time_zone_database_business_needs() -> None:
    # Lambda's python3.12 image need not have /usr/share/zoneinfo; the layer brings tzdata (layer requirements).
    assert any(line.startswith("tzdata==") for line in (ROOT / "layers/shoplake/requirements.txt").read_text().split())
    layer = BUILT / "SharedLayer" / "python"
    if not layer.is_dir():
        pytest.skip("sam build has not run here (make test runs it)")
    assert (layer / "tzdata" / "zoneinfo" / "Asia" / "Seoul").is_file()
