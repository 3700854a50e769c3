"""A temporary directory for one long run (a benchmark), removed when it ends, however it ends.

Inside `scratch_directory`, this process and every process it starts write their temporary
files there: `tempfile` here, `TMPDIR` for child processes, and local Spark's local and JVM
temporary directories (local_stack.spark follows `tempfile.gettempdir()`). The directory is removed
on return, on an exception, on Ctrl-C and on SIGTERM (turned into SystemExit, so `finally` runs).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def scratch_directory(name: str) -> Iterator[Path]:
    """A fresh directory under the system's temporary directory, made everyone's temporary directory meanwhile."""
    work = Path(tempfile.mkdtemp(prefix=f"shoplake-{name}-"))
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    os.environ["TMPDIR"] = str(work)
    tempfile.tempdir = str(work)
    try:
        yield work
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        signal.signal(signal.SIGTERM, previous_handler)
        shutil.rmtree(work, ignore_errors=True)
