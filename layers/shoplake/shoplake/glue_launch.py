"""Start the data-quality job for a partition the lake just received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shoplake import lake_layout


@dataclass(frozen=True)
class QualityRun:
    job_name: str
    run_id: str
    input_path: str
    table: str


def partition_prefix(key: str) -> tuple[str, str]:
    """surveys/<table>/year=…/month=…/day=…/part-x.parquet -> (table, the partition's prefix)."""
    if not key.startswith(lake_layout.SURVEY_DATA):
        raise ValueError(f"{key!r} is not under {lake_layout.SURVEY_DATA}")
    parts = key.split("/")
    table, partition = parts[1], parts[2:-1]
    if tuple(p.split("=", 1)[0] for p in partition) != lake_layout.PARTITION_KEYS:
        raise ValueError(f"{key!r} is not in a year=/month=/day= partition")
    return table, "/".join(parts[:-1]) + "/"


def start_quality_check(glue: Any, job_name: str, bucket: str, key: str) -> QualityRun:
    table, prefix = partition_prefix(key)
    input_path = f"s3://{bucket}/{prefix}"
    run = glue.start_job_run(JobName=job_name, Arguments={"--input_path": input_path, "--table": table})
    return QualityRun(job_name=job_name, run_id=run["JobRunId"], input_path=input_path, table=table)
