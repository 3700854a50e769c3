"""Each Lambda function loads from what it is deployed with: the runtime, the shared layer, its own package.

The development environment holds every dependency of every part of shoplake, so a function that
imports something its package lacks would pass every other test and fail at its first cold start in
AWS. Here each handler module is imported in a fresh interpreter whose imports are limited to the
standard library, boto3 (the python3.12 runtime's), the distributions the layer's and the function's
requirements.txt install (with what they require), and the first-party code the build puts beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from local_stack.template import ROOT, function_properties, load_template
from tests.package_guard import guard_directory, importable, requirements

TEMPLATE = load_template()
FUNCTIONS = sorted(k for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
# What Lambda's python3.12 runtime provides besides the standard library.
RUNTIME = ("boto3",)
LAYER = ROOT / "layers" / "shoplake"
# Lambda imports the handler module from the function's folder (/var/task).
_IMPORT_HANDLER = "import sys; sys.path.insert(0, sys.argv[1]); import app; print('loaded', app.__name__)"


def _allowed(logical_id: str) -> tuple[set[str], Path]:
    props = function_properties(TEMPLATE, logical_id)
    code = ROOT / props["CodeUri"]
    wanted = [Requirement(name) for name in RUNTIME] + requirements(code / "requirements.txt")
    first_party = {p.stem for p in code.glob("*.py")}
    if {"Ref": "SharedLayer"} in props.get("Layers", []):
        wanted += requirements(LAYER / "requirements.txt")
        first_party.add("shoplake")
    makefile = code / "Makefile"
    if makefile.is_file() and "glue/shoplake_etl" in makefile.read_text(encoding="utf-8"):
        first_party.add("shoplake_etl")  # its build copies the ETL library beside the handler
    return importable(wanted, first_party), code


def _guarded(allowed: set[str], code: Path, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    guard = guard_directory(tmp_path / "guard", allowed)
    return subprocess.run(  # noqa: S603 - this interpreter, our own handler
        [sys.executable, "-c", _IMPORT_HANDLER, str(code)],
        cwd=tmp_path,
        env={**env, **guard, "PYTHONPATH": str(tmp_path / "guard")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _environment(logical_id: str) -> dict[str, str]:
    """The function's variables as the template sets them, parameters at their defaults, other references named."""
    props = function_properties(TEMPLATE, logical_id)
    env: dict[str, str] = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128))}
    for name, value in (props.get("Environment") or {}).get("Variables", {}).items():
        env[name] = _value(value)
    return env


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "Ref" in value and value["Ref"] in TEMPLATE["Parameters"]:
        return str(TEMPLATE["Parameters"][value["Ref"]].get("Default", ""))
    if "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return f"local-{json.dumps(value, sort_keys=True)[:40]}"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_a_function_loads_from_its_own_package_alone(logical_id: str, tmp_path: Path) -> None:
    # GIVEN only what the function is deployed with
    allowed, code = _allowed(logical_id)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_REGION": "ap-northeast-2",
        "AWS_DEFAULT_REGION": "ap-northeast-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **_environment(logical_id),
    }
    # WHEN its handler module is imported, as Lambda does at a cold start
    run = _guarded(allowed, code, tmp_path, env)
    # THEN it loads: nothing it imports is missing from its package
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "loaded app"


def test_the_guard_refuses_what_a_package_lacks(tmp_path: Path) -> None:
    # GIVEN a handler that imports pyarrow, with a package that does not carry it
    (tmp_path / "app.py").write_text("import pyarrow\n", encoding="utf-8")
    # WHEN it is imported under the same guard
    run = _guarded({"app", "boto3"}, tmp_path, tmp_path, {"PATH": "/usr/bin:/bin"})
    # THEN it fails the way Lambda would, naming the module
    assert run.returncode != 0 and "No module named 'pyarrow'" in run.stderr
