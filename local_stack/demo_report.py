"""The demo's last stage: the marketing report, from everything the earlier stages put into the local lake.

`make demo` calls `stage(demo)`; it reads the lake bucket on moto's server through pyarrow's S3
filesystem (the path a report on a real bucket takes), then brings the local stack's copy of the
lake on disk (the one the local Glue jobs read, `.local/lake`) up to date, so that
`make report FROM=… TO=…` can be run on it after the demo has stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import pyarrow.fs as pafs

from analytics.report import build_report
from local_stack.glue_jobs import LakeMirror
from local_stack.provision import REGION
from local_stack.stack import LOCAL_CREDENTIALS

_PARTITION_DAY = re.compile(r"/year=(\d{4})/month=(\d{2})/day=(\d{2})/")


@dataclass(frozen=True)
class DemoReport:
    path: Path
    first_day: date
    last_day: date


def local_lake_filesystem(endpoint_url: str) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem on moto's server (DuckDB's own S3 reader, httpfs, cannot be loaded here)."""
    endpoint = urlparse(endpoint_url)
    return pafs.S3FileSystem(
        endpoint_override=endpoint.netloc,
        scheme=endpoint.scheme,
        region=REGION,
        access_key=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


def days_in_lake(filesystem: pafs.FileSystem, root: str) -> tuple[date, date]:
    """The first and last partition day of anything in the lake, plus a day for UTC partitions' Seoul evenings."""
    days = sorted(
        date(int(match[1]), int(match[2]), int(match[3]))
        for info in filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
        if (match := _PARTITION_DAY.search(info.path))
    )
    if not days:
        raise LookupError(f"nothing partitioned by day under {root} yet")
    return days[0], days[-1] + timedelta(days=1)


def report_from_local_stack(endpoint_url: str, lake_bucket: str, out: Path) -> DemoReport:
    """The report over every day in the local stack's lake bucket, written to `out`."""
    filesystem = local_lake_filesystem(endpoint_url)
    first_day, last_day = days_in_lake(filesystem, lake_bucket)
    return DemoReport(build_report(filesystem, lake_bucket, first_day, last_day, out), first_day, last_day)


class _Demo(Protocol):
    """What the demo's stages are given (local_stack.demo.Demo)."""

    @property
    def stack(self) -> Any: ...

    def say(self, text: str) -> None: ...


def stage(demo: _Demo) -> None:
    """`make demo`'s analytics stage: prints where the report is."""
    stack, bucket = demo.stack, demo.stack.output("LakeBucketName")
    made = report_from_local_stack(stack.endpoint_url, bucket, stack.work_dir / "report.html")
    demo.say(f"the marketing questions answered by DuckDB on the lake's Parquet, {made.first_day} to {made.last_day}")
    demo.say(f"report: {made.path.resolve()}")
    LakeMirror(stack.client("s3"), bucket, stack.glue.lake_dir).pull()
    demo.say(f"the lake on disk, for `make report FROM=… TO=…`: {stack.glue.lake_dir}")
