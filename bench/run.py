"""`make bench`: run every bench/bench_*.py and print its summary line.

Each benchmark measures shoplake against a named alternative in one run and prints one
line that starts with its name and contains `ratio=` (ours ÷ the alternative, higher is
better). A benchmark that fails, or prints no such line, fails the run.

Each runs with a temporary directory of its own (TMPDIR, which local Spark follows too) and
must leave it empty: what it leaves is reported, fails the run, and is removed either way.
Nor may it leave anything in the places some tools write whatever TMPDIR says
(`FIXED_TEMPORARY_PLACES`): one that appears during a benchmark fails it too.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# HotSpot's performance data: /tmp/hsperfdata_<user> on Linux, whatever TMPDIR or java.io.tmpdir say
# (local_stack.spark turns it off for Spark's JVMs; this holds it off).
_USER = pwd.getpwuid(os.geteuid()).pw_name
FIXED_TEMPORARY_PLACES = (Path("/tmp") / f"hsperfdata_{_USER}",)  # noqa: S108 - the JVM's fixed place, not ours


def main() -> int:
    benchmarks = sorted(HERE.glob("bench_*.py"))
    if not benchmarks:
        print("no benchmarks yet: add bench/bench_<name>.py printing '<name> ... ratio=<ours/alternative>'")
        return 0
    failed = 0
    for path in benchmarks:
        name = path.stem.removeprefix("bench_")
        before = present(FIXED_TEMPORARY_PLACES)
        with tempfile.TemporaryDirectory(prefix=f"shoplake-bench-{name}-") as scratch:
            run = subprocess.run(  # noqa: S603 - our own benchmark scripts, with this interpreter
                [sys.executable, str(path)],
                capture_output=True,
                text=True,
                cwd=HERE.parent,
                env={**os.environ, "TMPDIR": scratch},
                check=False,
            )
            left = left_behind(Path(scratch))
        outside = appeared(FIXED_TEMPORARY_PLACES, before)
        lines = [line for line in run.stdout.splitlines() if line.startswith(name) and "ratio=" in line]
        if run.returncode != 0 or not lines:
            failed += 1
            print(f"{name} FAILED (exit {run.returncode}): {run.stderr.strip().splitlines()[-1:] or 'no ratio= line'}")
            continue
        if left:
            failed += 1
            print(f"{name} FAILED: left {left} in its temporary directory (removed now)")
            continue
        if outside:
            failed += 1
            print(f"{name} FAILED: left {', '.join(map(str, outside))} outside its temporary directory")
            continue
        print(lines[-1])
    return 1 if failed else 0


def left_behind(directory: Path) -> str:
    """What a benchmark left in its temporary directory ("" for nothing): how many files and bytes."""
    files = [item for item in directory.rglob("*") if item.is_file() or item.is_symlink()]
    folders = [item for item in directory.rglob("*") if item.is_dir()]
    if not files and not folders:
        return ""
    size = sum(item.lstat().st_size for item in files)
    return f"{len(files)} files in {len(folders)} folders, {size / 2**20:.1f} MiB"


def present(places: tuple[Path, ...]) -> set[Path]:
    """Which of `places` exist now."""
    return {place for place in places if place.exists()}


def appeared(places: tuple[Path, ...], before: set[Path]) -> list[Path]:
    """The `places` that exist now and did not before: what a benchmark left where TMPDIR does not reach.

    An empty one is removed (a JVM removes its own file inside, not the directory); one holding files
    is left alone, since another program's running JVM may be using it.
    """
    new = sorted(present(places) - before)
    for place in new:
        if place.is_dir() and not any(place.iterdir()):
            place.rmdir()
    return new


if __name__ == "__main__":
    sys.exit(main())
