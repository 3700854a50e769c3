"""Glue job: one step of the nightly ETL, chosen by --step (extract, clean, curate, clickstream_hourly,
quality, publish), for the business day --run_date (exactly YYYY-MM-DD, as the state machine passes it).

This entry only resolves Glue's arguments and contexts; the night is `shoplake_etl.night.run_step`
(tested on a local SparkSession) over `shoplake_etl.glue_services`, from the job's --extra-py-files.
"""

from __future__ import annotations

import json
import sys


def main() -> None:  # pragma: no cover - needs Glue's runtime; run_step is tested
    from awsglue.context import GlueContext  # noqa: PLC0415
    from awsglue.utils import getResolvedOptions  # noqa: PLC0415
    from pyspark.context import SparkContext  # noqa: PLC0415

    from shoplake_etl.glue_services import glue_night_services  # noqa: PLC0415
    from shoplake_etl.night import read_run_date, run_step  # noqa: PLC0415

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "step", "run_date", "lake_root"])
    names = ("table", "rulesets", "database", "catch_up", "run_id", "state_machine_arn")
    optional = [name for name in names if f"--{name}" in sys.argv]
    args |= getResolvedOptions(sys.argv, optional) if optional else {}
    run_date = read_run_date(args["run_date"])
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    services = glue_night_services(spark, glue_context, sys.argv, args, run_date)
    print(json.dumps(run_step(spark, args["step"], run_date, args["lake_root"], args, services)))  # noqa: T201


if __name__ == "__main__":  # pragma: no cover
    main()
