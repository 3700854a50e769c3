"""Glue job: one step of the nightly ETL, chosen by --step (extract, clean, curate, clickstream_hourly,
quality, publish), for the business day --run_date (YYYY-MM-DD, or "yesterday" in Asia/Seoul).

The steps and their lake I/O are `shoplake_etl.steps`, tested on a local SparkSession; this
entry only resolves Glue's arguments, secrets and contexts. In AWS the quality step is Glue
Data Quality's EvaluateDataQuality over the same rulesets the tests evaluate locally.
Still missing before the schedule can be enabled (`EnableNightlyEtl`): the Glue connection
into the database's VPC (infra_core) and the packaging of `shoplake_etl` and `shoplake` as
`--extra-py-files`.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

STEPS = ("extract", "clean", "curate", "clickstream_hourly", "quality", "publish")
BUSINESS_ZONE = ZoneInfo("Asia/Seoul")


def resolve_run_date(value: str, now: datetime) -> date:
    """The business day a run is for: an explicit date, or yesterday in Seoul at `now`."""
    if value == "yesterday":
        return now.astimezone(BUSINESS_ZONE).date() - timedelta(days=1)
    return date.fromisoformat(value)


def main() -> None:  # pragma: no cover - needs Glue's runtime; the steps it calls are tested
    import boto3  # noqa: PLC0415
    from awsglue.context import GlueContext  # noqa: PLC0415
    from awsglue.utils import getResolvedOptions  # noqa: PLC0415
    from pyspark.context import SparkContext  # noqa: PLC0415

    from shoplake_etl import steps  # noqa: PLC0415

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "step", "run_date", "lake_root"])
    step = args["step"]
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}; one of {', '.join(STEPS)}")
    run_date = resolve_run_date(args["run_date"], datetime.now(BUSINESS_ZONE))
    spark = GlueContext(SparkContext.getOrCreate()).spark_session
    lake = args["lake_root"]
    if step == "extract":
        extra = getResolvedOptions(sys.argv, ["jdbc_url", "database_secret", "pseudonym_secret"])
        secrets = boto3.client("secretsmanager")
        login = json.loads(secrets.get_secret_value(SecretId=extra["database_secret"])["SecretString"])
        salt = secrets.get_secret_value(SecretId=extra["pseudonym_secret"])["SecretString"]
        properties = {"user": login["username"], "password": login["password"], "driver": "org.postgresql.Driver"}
        steps.run_extract(spark, extra["jdbc_url"], properties, lake_root=lake, run_date=run_date, salt=salt)
    elif step == "clean":
        steps.run_clean(spark, lake, run_date)
    elif step == "curate":
        steps.run_curate(spark, lake, run_date)
    elif step == "clickstream_hourly":
        steps.run_clickstream_hourly(spark, lake, run_date)
    elif step == "quality":
        _evaluate_with_glue_data_quality(spark, GlueContext, lake, run_date)
    else:
        steps.run_publish(spark, lake, run_date)


def _evaluate_with_glue_data_quality(
    spark: object, glue_context: object, lake: str, run_date: date
) -> None:  # pragma: no cover
    import boto3  # noqa: PLC0415
    from awsglue.dynamicframe import DynamicFrame  # noqa: PLC0415
    from awsglue.utils import getResolvedOptions  # noqa: PLC0415
    from awsgluedq.transforms import EvaluateDataQuality  # noqa: PLC0415

    from shoplake import lake_layout  # noqa: PLC0415
    from shoplake_etl.steps import DayFailedChecks, table_path  # noqa: PLC0415

    rulesets = json.loads(getResolvedOptions(sys.argv, ["rulesets"])["rulesets"])  # table -> ruleset name
    glue = boto3.client("glue")
    failed = []
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
    if failed:
        raise DayFailedChecks(f"{run_date}: data-quality rule(s) failed: " + "; ".join(failed))


if __name__ == "__main__":  # pragma: no cover
    main()
