"""The repository stands alone: a clone with nothing beside it collects exactly the tests this one does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from local_stack.template import ROOT


def _tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def _collected(root: Path) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return sorted(line for line in run.stdout.splitlines() if "::" in line)


def test_a_clone_with_nothing_beside_it_collects_the_same_tests(tmp_path: Path) -> None:
    # GIVEN the repository's files, alone in an empty directory (no sibling directories, nothing else)
    clone = tmp_path / "alone" / "shoplake"
    for name in _tracked_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    assert [p.name for p in clone.parent.iterdir()] == ["shoplake"]
    # WHEN pytest collects the tests there and here
    there, here = _collected(clone), _collected(ROOT)
    # THEN the same tests are collected, every parametrised case included
    assert len(there) > 500
    assert there == here
