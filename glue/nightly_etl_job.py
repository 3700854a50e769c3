"""Glue job: one step of the nightly ETL, chosen by --step (extract, clean, curate, clickstream_hourly,
quality, publish), for the business day --run_date (YYYY-MM-DD, or "yesterday" in Asia/Seoul).

The steps and their lake I/O are `shoplake_etl.steps`, tested on a local SparkSession; this
entry only resolves Glue's arguments, secrets and contexts. In AWS the quality step is Glue
Data Quality's EvaluateDataQuality over the same rulesets the tests evaluate locally.
The local stack runs the same `run_step` on a local SparkSession (local_stack.glue_jobs).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

STEPS = ("extract", "clean", "curate", "clickstream_hourly", "quality", "publish")
BUSINESS_ZONE = ZoneInfo("Asia/Seoul")


def resolve_run_date(value: str, now: datetime) -> date:
    """The business day a run is for: an explicit date, or yesterday in Seoul at `now`."""
    if value == "yesterday":
        return now.astimezone(BUSINESS_ZONE).date() - timedelta(days=1)
    return date.fromisoformat(value)


@dataclass(frozen=True)
class ShopDatabase:
    """Where the extract reads: the JDBC URL, its login properties, and the pseudonym salt."""

    jdbc_url: str
    properties: dict[str, Any]
    salt: str


def run_step(  # noqa: PLR0917 - one run's own parameters
    spark: Any,
    step: str,
    run_date: date,
    lake_root: str,
    arguments: dict[str, str],
    database: Callable[[], ShopDatabase],
    evaluate_rulesets: Callable[[dict[str, str]], dict[str, int]],
    point_partition: Callable[[str, date, str], object],
) -> dict[str, Any]:
    """One step of the night for one business day; returns what it wrote (row counts), or rules passed.

    `database` is asked for only by the extract. `evaluate_rulesets` takes the staged tables'
    ruleset names (`--rulesets`): Glue Data Quality in Glue, `steps.run_quality` locally.
    `point_partition(table, day, location)` publishes a day in the catalog (Glue's, or moto's locally).
    """
    from shoplake_etl import steps  # noqa: PLC0415 - needs Spark, which the date helpers above do not

    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}; one of {', '.join(STEPS)}")
    if step == "extract":
        shop = database()
        tables = [arguments["table"]] if arguments.get("table") else None
        return steps.run_extract(
            spark, shop.jdbc_url, shop.properties, lake_root=lake_root, run_date=run_date, salt=shop.salt, tables=tables
        )
    if step == "clean":
        return steps.run_clean(spark, lake_root, run_date)
    if step == "curate":
        return steps.run_curate(spark, lake_root, run_date)
    if step == "clickstream_hourly":
        return {"clickstream_hourly": steps.run_clickstream_hourly(spark, lake_root, run_date)}
    if step == "quality":
        return evaluate_rulesets(json.loads(arguments["rulesets"]))
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # sorts by time; a re-run is a new version
    return steps.run_publish(spark, lake_root, run_date, point_partition, version)


def main() -> None:  # pragma: no cover - needs Glue's runtime; run_step is tested
    import boto3  # noqa: PLC0415
    from awsglue.context import GlueContext  # noqa: PLC0415
    from awsglue.utils import getResolvedOptions  # noqa: PLC0415
    from pyspark.context import SparkContext  # noqa: PLC0415

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "step", "run_date", "lake_root"])
    optional = [name for name in ("table", "rulesets", "database") if f"--{name}" in sys.argv]
    args |= getResolvedOptions(sys.argv, optional) if optional else {}
    run_date = resolve_run_date(args["run_date"], datetime.now(BUSINESS_ZONE))
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark, lake = glue_context.spark_session, args["lake_root"]

    def database() -> ShopDatabase:
        extra = getResolvedOptions(sys.argv, ["jdbc_url", "database_secret", "pseudonym_secret"])
        secrets = boto3.client("secretsmanager")
        login = json.loads(secrets.get_secret_value(SecretId=extra["database_secret"])["SecretString"])
        salt = secrets.get_secret_value(SecretId=extra["pseudonym_secret"])["SecretString"]
        properties = {"user": login["username"], "password": login["password"], "driver": "org.postgresql.Driver"}
        return ShopDatabase(extra["jdbc_url"], properties, salt)

    def with_glue_data_quality(rulesets: dict[str, str]) -> dict[str, int]:
        return _evaluate_with_glue_data_quality(spark, glue_context, lake, run_date, rulesets)

    def in_glue_catalog(table: str, day: date, location: str) -> object:
        from shoplake_etl.catalog import point_partition  # noqa: PLC0415

        return point_partition(boto3.client("glue"), args["database"], table, day, location)

    result = run_step(spark, args["step"], run_date, lake, args, database, with_glue_data_quality, in_glue_catalog)
    print(json.dumps(result))  # noqa: T201


def _evaluate_with_glue_data_quality(
    spark: object, glue_context: object, lake: str, run_date: date, rulesets: dict[str, str]
) -> dict[str, int]:  # pragma: no cover
    import boto3  # noqa: PLC0415
    from awsglue.dynamicframe import DynamicFrame  # noqa: PLC0415
    from awsgluedq.transforms import EvaluateDataQuality  # noqa: PLC0415

    from shoplake import lake_layout  # noqa: PLC0415
    from shoplake_etl.steps import DayFailedChecks, table_path  # noqa: PLC0415

    glue = boto3.client("glue")  # rulesets: table -> ruleset name
    failed, passed = [], {}
    for table, name in rulesets.items():
        frame = spark.read.parquet(table_path(lake, lake_layout.ETL_STAGING, table, run_date))  # type: ignore[attr-defined]
        outcome = EvaluateDataQuality().process_rows(
            frame=DynamicFrame.fromDF(frame, glue_context, table),
            ruleset=glue.get_data_quality_ruleset(Name=name)["Ruleset"],
            publishing_options={"dataQualityEvaluationContext": f"{table} {run_date}",
                                "enableDataQualityResultsPublishing": True},
        )  # fmt: skip
        results = outcome["ruleOutcomes"].toDF().collect()
        failed += [f"{table}: {r['Rule']}" for r in results if r["Outcome"] != "Passed"]
        passed[table] = sum(1 for r in results if r["Outcome"] == "Passed")
    if failed:
        raise DayFailedChecks(f"{run_date}: data-quality rule(s) failed: " + "; ".join(failed))
    return passed


if __name__ == "__main__":  # pragma: no cover
    main()
