"""The lake as DuckDB sees it: only the days asked for are read, on a directory or on S3."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow.fs as pafs
import pytest
from moto.server import ThreadedMotoServer

from analytics.lake import Lake, run_query
from analytics.queries import query
from local_stack.demo_report import local_lake_filesystem, report_from_local_stack
from tests.analytics_lake import FIRST_DAY, LAST_DAY, write_clickstream, write_surveys


class CountingFileSystem(pafs.FileSystemHandler):  # type: ignore[misc]  # pyarrow ships no type hints
    """The local filesystem, counting the files opened for reading."""

    def __init__(self) -> None:
        self.local = pafs.LocalFileSystem()
        self.opened: list[str] = []

    def get_type_name(self) -> str:
        return "counting"

    def equals(self, other: Any) -> bool:
        return self is other

    def get_file_info(self, paths: list[str]) -> Any:
        return self.local.get_file_info(paths)

    def get_file_info_selector(self, selector: Any) -> Any:
        return self.local.get_file_info(selector)

    def normalize_path(self, path: str) -> str:
        return self.local.normalize_path(path)

    def open_input_file(self, path: str) -> Any:
        self.opened.append(path)
        return self.local.open_input_file(path)

    def open_input_stream(self, path: str) -> Any:
        self.opened.append(path)
        return self.local.open_input_stream(path)

    def create_dir(self, path: str, recursive: bool) -> None:
        raise NotImplementedError

    def delete_dir(self, path: str) -> None:
        raise NotImplementedError

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        raise NotImplementedError

    def delete_root_dir_contents(self) -> None:
        raise NotImplementedError

    def delete_file(self, path: str) -> None:
        raise NotImplementedError

    def move(self, src: str, dest: str) -> None:
        raise NotImplementedError

    def copy_file(self, src: str, dest: str) -> None:
        raise NotImplementedError

    def open_output_stream(self, path: str, metadata: Any) -> Any:
        raise NotImplementedError

    def open_append_stream(self, path: str, metadata: Any) -> Any:
        raise NotImplementedError


def _clickstream_lake(directory: Path, days: int) -> None:
    """One page view at 03:00 UTC every day from 2026-11-01, one file per day."""
    start = date(2026, 11, 1)
    write_clickstream(
        directory,
        [
            (f"e{n}", f"{start + timedelta(days=n)}T03:00", "page_view", f"s{n}", None, None, "KR", False)
            for n in range(days)
        ],
    )


def _files_read(directory: Path, days: int) -> tuple[int, int]:
    handler = CountingFileSystem()
    lake = Lake(pafs.PyFileSystem(handler), str(directory))
    first = date(2026, 11, 10)
    answer = run_query(lake, query("q1_busiest_hours"), first, first + timedelta(days=days - 1))
    korea = [row for row in answer.to_pylist() if row["clock"] == "korea"]
    return len(set(handler.opened)), sum(row["sessions"] for row in korea)


def test_files_read_grow_with_the_days_queried_not_with_the_lake(tmp_path: Path) -> None:
    # GIVEN a lake of 30 days of clickstream and one of 60, one file a day
    small, large = tmp_path / "small", tmp_path / "large"
    _clickstream_lake(small, 30)
    _clickstream_lake(large, 60)
    # WHEN the busiest hours are asked for 1, 3 and 7 Seoul days
    # THEN each Seoul day reads its own UTC day's file and the one before it, whatever the lake's size
    assert _files_read(small, 1) == _files_read(large, 1) == (2, 1)
    assert _files_read(small, 3) == _files_read(large, 3) == (4, 3)
    assert _files_read(small, 7) == _files_read(large, 7) == (8, 7)


@pytest.mark.timeout(120)
def test_a_lake_read_through_python_never_deadlocks_the_query(tmp_path: Path) -> None:
    # GIVEN a lake whose filesystem answers from Python, as moto's server in this process does
    _clickstream_lake(tmp_path, 30)
    # WHEN the same query runs again and again (DuckDB reading a lazy dataset from its own threads hung
    # within about a hundred runs: duckdb/duckdb#16501 and its kin; this one hung CI)
    answers = {_files_read(tmp_path, 7) for _ in range(150)}
    # THEN every run answers, and the same
    assert answers == {(8, 7)}


@pytest.fixture
def s3_lake(tmp_path: Path) -> Iterator[tuple[pafs.FileSystem, str, Path, str]]:
    """The same files in a bucket of moto's server, read through pyarrow's S3 filesystem as the local stack is."""
    write_surveys(tmp_path)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto's backends live in this process: start from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="ap-northeast-2")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        for path in tmp_path.rglob("*.parquet"):
            s3.upload_file(str(path), "lake", path.relative_to(tmp_path).as_posix())
        yield local_lake_filesystem(endpoint), "lake", tmp_path, endpoint
    finally:
        server.stop()


@pytest.mark.server  # moto's server, for pyarrow's S3 filesystem
def test_the_same_query_answers_the_same_from_s3(s3_lake: tuple[pafs.FileSystem, str, Path, str]) -> None:
    filesystem, bucket, directory, _ = s3_lake
    from_s3 = run_query(Lake(filesystem, bucket), query("q2_offline_channels"), FIRST_DAY, LAST_DAY)
    from_disk = run_query(
        Lake(pafs.LocalFileSystem(), str(directory)), query("q2_offline_channels"), FIRST_DAY, LAST_DAY
    )
    assert from_s3.num_rows == 17
    assert from_s3.equals(from_disk)


@pytest.mark.server  # moto's server, for pyarrow's S3 filesystem
def test_the_demo_reports_every_day_in_the_local_lake(
    s3_lake: tuple[pafs.FileSystem, str, Path, str], tmp_path: Path
) -> None:
    # GIVEN survey answers from 2026-11-22 to 2026-11-25 in the local stack's lake bucket
    _, bucket, _, endpoint = s3_lake
    # WHEN the demo's stage makes the report
    made = report_from_local_stack(endpoint, bucket, tmp_path / "report.html")
    # THEN it spans every day in the lake (and the Seoul morning after the last UTC day)
    assert (made.first_day, made.last_day) == (date(2026, 11, 22), date(2026, 11, 26))
    html = made.path.read_text(encoding="utf-8")
    assert "KR · subway: 2 answers" in html
