"""`make bench`: run every bench/bench_*.py and print its summary line.

Each benchmark measures shoplake against a named alternative in one run and prints one
line that starts with its name and contains `ratio=` (ours ÷ the alternative, higher is
better). A benchmark that fails, or prints no such line, fails the run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    benchmarks = sorted(HERE.glob("bench_*.py"))
    if not benchmarks:
        print("no benchmarks yet: add bench/bench_<name>.py printing '<name> ... ratio=<ours/alternative>'")
        return 0
    failed = 0
    for path in benchmarks:
        name = path.stem.removeprefix("bench_")
        run = subprocess.run(  # noqa: S603 - our own benchmark scripts, with this interpreter
            [sys.executable, str(path)], capture_output=True, text=True, cwd=HERE.parent, check=False
        )
        lines = [line for line in run.stdout.splitlines() if line.startswith(name) and "ratio=" in line]
        if run.returncode != 0 or not lines:
            failed += 1
            print(f"{name} FAILED (exit {run.returncode}): {run.stderr.strip().splitlines()[-1:] or 'no ratio= line'}")
            continue
        print(lines[-1])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
