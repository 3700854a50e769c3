"""The nightly ETL as steps, whatever runs them.

One step (extract, clean, curate, clickstream_hourly, quality, publish) for one business day.

Glue runs it from `glue/nightly_etl_job.py` (Glue's arguments, secrets and Data Quality, through
`shoplake_etl.glue_services`); the local stack and the tests run the same `run_step` on a local
SparkSession with local services (`local_stack.glue_jobs`). The steps and their lake I/O are
`shoplake_etl.steps`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from shoplake import lake_layout
from shoplake_etl.catalog import Catalog
from shoplake_etl.publication import LakeFiles

STEPS = ("extract", "clean", "curate", "clickstream_hourly", "quality", "publish")
# A day as the state machine passes it: four, two and two ASCII digits (date.fromisoformat alone reads more).
RUN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def read_run_date(value: str) -> date:
    """The business day a run is for, from the job's `--run_date`: exactly `YYYY-MM-DD` (`2026-11-24`).

    The one spelling the state machine passes (it works out the day of a night or of a run without input
    itself, and refuses any other spelling of a day asked for), so that a day is one key of its lock table
    and one day here. Raises ValueError for any other text: `20261124`, `yesterday`, `2026-W48-2`,
    `2026-11-24T00:00`, or a date that does not exist (`2026-02-30`).
    """
    refused = ValueError(f"--run_date {value!r} is not a day spelt YYYY-MM-DD")
    if not RUN_DATE.fullmatch(value):
        raise refused
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refused from None


@dataclass(frozen=True)
class ShopDatabase:
    """Where the extract reads: the JDBC URL, its login properties, and the pseudonym salt."""

    jdbc_url: str
    properties: dict[str, Any]
    salt: str


@dataclass(frozen=True)
class NightServices:
    """What a step needs from outside Spark: Glue's services in AWS, their local counterparts in the local stack."""

    # The shop database; asked for only by the extract.
    database: Callable[[], ShopDatabase]
    # (ruleset names by table (`--rulesets`), run id): the run's staged tables evaluated, Glue Data Quality
    # in Glue, DQDL locally.
    evaluate_rulesets: Callable[[dict[str, str], str], dict[str, int]]
    # The catalog whose partitions publish moves: Glue's in AWS, moto's locally; asked for only by publish.
    catalog: Callable[[], Catalog]


def note_left_behind(files: LakeFiles, run_date: date, days: list[date], arguments: dict[str, str]) -> None:
    """Write (or, for no day, remove) the note `lake_layout.left_behind_key(run_date)`: `catalog.left_behind_notice`
    of `days`, with the back-fill commands for the state machine `arguments["state_machine_arn"]`, which the
    night's success notice repeats. Raises the file system's errors.
    """
    from shoplake_etl.catalog import left_behind_notice  # noqa: PLC0415

    key = lake_layout.left_behind_key(run_date)
    if not days:
        files.delete_file(key)
        return
    arn = arguments.get("state_machine_arn") or "<the nightly ETL state machine's ARN>"
    files.write_text(key, left_behind_notice(days, arn))


def run_step(  # noqa: PLR0917 - one run's own parameters
    spark: Any, step: str, run_date: date, lake_root: str, arguments: dict[str, str], services: NightServices
) -> dict[str, Any]:
    """One step of the night for one business day; returns what it wrote (row counts), or rules passed.

    `arguments` are the job's, without their dashes: `table` (extract one table), `catch_up`
    ("true": also extract the changes of nights that failed since the last day published whole, by the
    day manifests under `lake_root`), `state_machine_arn` (the extract's note of the days no night will catch
    up spells the back-fill commands with it, `note_left_behind`), `rulesets`, `run_id` (the run whose
    `staging/<run_id>/` the curate, clickstream_hourly, quality and publish steps write and read: the state
    machine's execution name).

    `rulesets` is JSON, {table: ruleset name}, read by the quality step only; `lake_root` ends with `/`.
    Returns {table: rows written} (extract, clean, curate; publish adds `repaired`, the lines of
    `steps.run_publish`), `{"clickstream_hourly": rows}`, or {table: rules passed} (quality). Raises
    SystemExit for an unknown step, KeyError or ValueError for a quality step without valid `rulesets` or
    a staged step without a valid `run_id`, and what the step raises (`steps.DayFailedChecks` when checks fail;
    `steps.StagingNotChecked` from a publish whose run's staging the quality step did not mark as checked).
    """
    from shoplake_etl import steps  # noqa: PLC0415 - needs Spark, which the date helpers above do not
    from shoplake_etl.catalog import catch_up_since, days_left_behind  # noqa: PLC0415
    from shoplake_etl.publication import new_version, published_days  # noqa: PLC0415

    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}; one of {', '.join(STEPS)}")
    if step == "extract":
        shop = services.database()
        tables = [arguments["table"]] if arguments.get("table") else None
        catch_up = arguments.get("catch_up") == "true"
        files = LakeFiles.from_uri(lake_root)
        published = published_days(files)
        since = catch_up_since(run_date, published) if catch_up else None
        note_left_behind(files, run_date, days_left_behind(run_date, published, catch_up=catch_up), arguments)
        return steps.run_extract(
            spark, shop.jdbc_url, shop.properties, lake_root=lake_root, run_date=run_date, salt=shop.salt,
            tables=tables, since_date=since,
        )  # fmt: skip
    if step == "clean":
        return steps.run_clean(spark, lake_root, run_date)
    run_id = arguments["run_id"]
    if step == "curate":
        return steps.run_curate(spark, lake_root, run_date, run_id=run_id)
    if step == "clickstream_hourly":
        return {"clickstream_hourly": steps.run_clickstream_hourly(spark, lake_root, run_date, run_id=run_id)}
    if step == "quality":
        passed = services.evaluate_rulesets(json.loads(arguments["rulesets"]), run_id)
        steps.mark_checked(lake_root, run_date, run_id, passed)  # what publish requires of the run's staging
        return passed
    version = new_version(datetime.now(UTC))  # sorts by time; a re-run is a new version
    return steps.run_publish(spark, lake_root, run_date, services.catalog(), version, run_id)
