"""Every module command the README and the manuals show answers `--help`, from any directory, with no PYTHONPATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.template import ROOT

MANUALS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("*/README.md"))]
_MODULE_COMMAND = re.compile(r"python -m ([a-z_][a-z0-9_.]*)")


def _documented_modules() -> list[str]:
    found = {m for path in MANUALS for m in _MODULE_COMMAND.findall(path.read_text(encoding="utf-8"))}
    return sorted(found)


def test_the_manuals_show_module_commands() -> None:
    assert {"analytics", "shoplake.clickstream.redrive", "shop.app.main", "local_stack.demo"} <= set(
        _documented_modules()
    )


@pytest.mark.parametrize("module", _documented_modules())
def test_a_documented_module_command_answers_help(module: str, tmp_path: Path) -> None:
    # GIVEN the venv's Python, started in an empty directory with no PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # WHEN the command is asked for its usage
    run = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        [sys.executable, "-m", module, "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN it prints its usage and exits 0, touching nothing
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage:" in run.stdout
    assert list(tmp_path.iterdir()) == []
