"""Start shoplake's Glue jobs with Glue's `StartJobRun` API.

The quality check for a partition the lake just received, or a job the caller may start, by name
(the launcher's: the survey check only; the nightly ETL's jobs run in its state machine alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shoplake import lake_layout


@dataclass(frozen=True)
class QualityRun:
    """A started quality-check run: the Glue job's name, its `JobRunId`, the partition's s3:// folder, the table."""

    job_name: str
    run_id: str
    input_path: str
    table: str


def partition_prefix(key: str) -> tuple[str, str]:
    """Split a survey data key into its table and its partition's key prefix.

    `surveys/<table>/year=2026/month=11/day=23/part-x.parquet` -> `("<table>",
    "surveys/<table>/year=2026/month=11/day=23/")`. Raises ValueError when the key is not under
    `surveys/` or its folders are not exactly `year=`, `month=`, `day=` (`lake_layout.PARTITION_KEYS`).
    """
    if not key.startswith(lake_layout.SURVEY_DATA):
        raise ValueError(f"{key!r} is not under {lake_layout.SURVEY_DATA}")
    parts = key.split("/")
    table, partition = parts[1], parts[2:-1]
    if tuple(p.split("=", 1)[0] for p in partition) != lake_layout.PARTITION_KEYS:
        raise ValueError(f"{key!r} is not in a year=/month=/day= partition")
    return table, "/".join(parts[:-1]) + "/"


def start_quality_check(glue: Any, job_name: str, bucket: str, key: str) -> QualityRun:
    """Start the survey quality-check Glue job on the partition that holds s3://`bucket`/`key`.

    `glue` is a boto3 Glue client; the run gets `--input_path` (the partition's s3:// folder), `--table` and
    `--partition_object` (s3://`bucket`/`key`, whose metadata names the upload whose Slack thread the result
    answers in: `shoplake.surveys.upload_thread`) (Glue `StartJobRun` API). Raises ValueError (from
    `partition_prefix`) for a key outside a survey partition; the client's errors (e.g.
    `ConcurrentRunsExceededException`) are raised as they come.
    """
    table, prefix = partition_prefix(key)
    input_path = f"s3://{bucket}/{prefix}"
    arguments = {"--input_path": input_path, "--table": table, "--partition_object": f"s3://{bucket}/{key}"}
    run = glue.start_job_run(JobName=job_name, Arguments=arguments)
    return QualityRun(job_name=job_name, run_id=run["JobRunId"], input_path=input_path, table=table)


class UnknownJob(ValueError):  # noqa: N818 - "unknown job" is what a caller is told
    """A job name that is not one the caller may start (`known_jobs`)."""


def start_named_job(
    glue: Any, known_jobs: Mapping[str, str], name: str, arguments: Mapping[str, Any]
) -> dict[str, str]:
    """Start one of shoplake's Glue jobs by its short name (or full name) with `--key value` arguments.

    `known_jobs` maps short names to the deployed job names; `arguments` keys may come with or without their
    leading `--` (Glue job parameters are `--name` -> text). Returns `{"job_name", "run_id"}`. Raises
    UnknownJob for a name that is neither a short nor a deployed name, ValueError naming the argument
    whose value is not text; the client's errors are raised as they come.
    """
    job = known_jobs.get(name) or (name if name in known_jobs.values() else None)
    if job is None:
        raise UnknownJob(f"{name!r} is not one of shoplake's Glue jobs: {', '.join(sorted(known_jobs))}")
    args = {}
    for key, value in arguments.items():
        if not isinstance(value, str):
            raise ValueError(f"argument {key!r}: Glue job arguments are text")
        args[key if key.startswith("--") else f"--{key}"] = value
    run = glue.start_job_run(JobName=job, Arguments=args)
    return {"job_name": job, "run_id": str(run["JobRunId"])}
