"""Long runs (the benchmarks) keep their temporary files in one directory and leave nothing behind, however they end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from local_stack.scratch import scratch_directory
from local_stack.spark import NO_PERF_DATA
from local_stack.template import ROOT
from tests.conftest import fresh_module

RUN = ROOT / "bench" / "run.py"


def _bench_run() -> Any:
    """bench/run.py, the script `make bench` runs, as a module."""
    return fresh_module(RUN)


def _left_behind(directory: Path) -> str:
    """bench/run.py's own check."""
    return str(_bench_run().left_behind(directory))


def test_temporary_files_go_into_the_scratch_directory_and_go_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a scratch directory made under this test's own temporary directory
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    with scratch_directory("test") as work:
        # THEN this process's and its children's temporary files land in it
        made = Path(tempfile.mkdtemp())
        (made / "big").write_bytes(b"x" * 1024)
        child = subprocess.run(
            [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert made.parent == work and child.stdout.strip() == str(work)
    # AND afterwards it is gone, and the temporary directory is the one before
    assert not work.exists()
    assert os.environ["TMPDIR"] == str(tmp_path)
    assert tempfile.gettempdir() == str(tmp_path)


def test_a_failing_run_still_removes_its_scratch_directory() -> None:
    with pytest.raises(RuntimeError, match="benchmark failed"), scratch_directory("test") as work:
        (work / "half-written.parquet").write_bytes(b"PAR1")
        raise RuntimeError("benchmark failed")
    assert not work.exists()


def test_a_run_stopped_with_sigterm_removes_its_scratch_directory(tmp_path: Path) -> None:
    # GIVEN a run that has written into its scratch directory and is still working
    script = (
        "import sys, time\n"
        "from local_stack.scratch import scratch_directory\n"
        "with scratch_directory('test') as work:\n"
        "    (work / 'lake.parquet').write_bytes(b'x' * 4096)\n"
        "    print(work, flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(  # noqa: S603 - this interpreter, the script above
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert child.stdout is not None
    work = Path(child.stdout.readline().strip())
    assert (work / "lake.parquet").exists()
    # WHEN it is stopped as `kill` or a CI timeout stops it
    child.send_signal(signal.SIGTERM)
    # THEN it ends, and removes its scratch directory first
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 5
    while work.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not work.exists()
    assert list(tmp_path.iterdir()) == []


def test_make_bench_names_what_a_benchmark_left_behind(tmp_path: Path) -> None:
    assert _left_behind(tmp_path) == ""
    (tmp_path / "spark-1" / "blockmgr").mkdir(parents=True)
    (tmp_path / "spark-1" / "blockmgr" / "shuffle_0.data").write_bytes(b"x" * 2**20)
    assert _left_behind(tmp_path) == "1 files in 2 folders, 1.0 MiB"


def test_make_bench_names_what_a_benchmark_left_where_tmpdir_does_not_reach(tmp_path: Path) -> None:
    # GIVEN the JVM's fixed place for performance data, absent before a benchmark, then left behind empty
    run = _bench_run()
    place, kept = tmp_path / "hsperfdata_shop", tmp_path / "hsperfdata_other"
    before = run.present((place, kept))
    place.mkdir()
    kept.mkdir()
    (kept / "4242").write_bytes(b"x")
    # WHEN bench/run.py looks after the benchmark
    left = run.appeared((place, kept), before)
    # THEN both are named; the empty one is removed, the one another JVM may still use is not
    assert left == [kept, place]
    assert not place.exists() and kept.exists()
    # AND one that was there before the benchmark is not its doing
    assert run.appeared((kept,), run.present((kept,))) == []


def test_local_spark_jvms_write_no_performance_data_to_tmp(spark: Any) -> None:
    # The driver runs without it, and so does the launcher JVM that spark-submit starts first.
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert NO_PERF_DATA in list(runtime.getInputArguments())
    assert NO_PERF_DATA in os.environ["SPARK_LAUNCHER_OPTS"].split()
