"""A survey file read in a child process with no more memory than the survey parser has.

For files that could kill the process that reads them (a failed allocation in calamine aborts it: no
exception reaches Python): the test sees how the child ended, never dies with it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The survey parser's memory (template.yaml) is more than this; the child may not take more.
CHILD_MEMORY_BYTES = 3 * 2**30
_READ = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import memory_budget
from shoplake.surveys.survey_file import read_survey
from shoplake.surveys.workbook import Refused
try:
    read_survey(Path(sys.argv[1]), "sparse.xlsx", "inbox/sparse.xlsx", all_forms(), memory_budget(2048))
    print("read")
except Refused as refused:
    print("refused:", refused)
"""


def read_in_child(path: Path, timeout: float) -> subprocess.CompletedProcess[str] | None:
    """`read_survey` of `path` in a child: its outcome (stdout `read` or `refused: <reason>`), or None when
    it is still reading after `timeout` seconds (it is killed)."""
    try:
        return subprocess.run(  # noqa: S603 - this interpreter, a fixed script
            [sys.executable, "-c", _READ.format(limit=CHILD_MEMORY_BYTES), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None


def assert_ends_as_python(child: subprocess.CompletedProcess[str] | None) -> str:
    """Fails unless the child ended as Python, the file read or refused; returns what it printed."""
    assert child is not None, "the parser was still reading the file when the test gave up"
    # a returncode of -6 is Rust's abort: "memory allocation of N bytes failed"
    assert child.returncode == 0, (child.returncode, child.stderr[-1500:])
    assert child.stdout.startswith(("read", "refused:")), child.stdout
    return child.stdout
