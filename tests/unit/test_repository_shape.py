"""The repository stays readable: short files, a front-door README that links every manual."""

from __future__ import annotations

import re
import subprocess

from local_stack.template import ROOT

LONGEST_FILE_LINES = 400
LONGEST_README_LINES = 250


def _tracked(pattern: str) -> list[str]:
    listed = subprocess.run(  # noqa: S603 - git, with our own arguments
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", pattern],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def test_no_python_file_is_longer_than_one_can_hold_in_mind() -> None:
    lengths = {name: len((ROOT / name).read_text(encoding="utf-8").splitlines()) for name in _tracked("*.py")}
    assert {name: n for name, n in lengths.items() if n > LONGEST_FILE_LINES} == {}


def test_the_readme_is_a_front_door_linking_every_manual() -> None:
    # GIVEN the README and the manuals in docs/
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    manuals = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    # THEN it is short, links every manual, and every link it makes leads to a file
    assert len(readme.splitlines()) <= LONGEST_README_LINES
    linked = set(re.findall(r"\]\((?!https?:)([^)#]+)", readme))
    assert [name for name in manuals if f"docs/{name}" not in linked] == []
    assert [target for target in linked if not (ROOT / target).exists()] == []


def test_every_manual_links_only_to_files_that_exist() -> None:
    for path in [*(ROOT / "docs").glob("*.md"), *ROOT.glob("*/README.md")]:
        targets = re.findall(r"\]\((?!https?:)([^)#]+)", path.read_text(encoding="utf-8"))
        assert [t for t in targets if not (path.parent / t).exists()] == [], path.name
