"""The nightly ETL's services in AWS Glue.

The shop database from Secrets Manager, the rulesets evaluated by Glue Data Quality, and partitions
pointed in the Glue Data Catalog.

Only Glue 5.0's runtime (`awsglue`, `awsgluedq`) can run this module; `glue/nightly_etl_job.py`
builds the night's `NightServices` with it. The local stack builds its own from local parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlparse

import boto3

from shoplake_etl.catalog import GlueCatalog
from shoplake_etl.night import NightServices, ShopDatabase
from shoplake_etl.rulesets import night_ruleset


def glue_night_services(  # pragma: no cover - needs Glue's runtime
    spark: Any, glue_context: Any, argv: list[str], args: dict[str, str], run_date: date
) -> NightServices:
    """The services of one Glue job run, built from the job's arguments.

    `args` are the resolved arguments (`lake_root`, `database` the Glue database) and `argv` the raw ones,
    from which the extract alone resolves `--jdbc_url`, `--database_secret` (a Secrets Manager secret
    whose JSON has the read-only ETL role's `username`, `shop_etl`; its password is an RDS IAM token,
    made anew before each read by `rds_iam_password`) and `--pseudonym_secret` (a plain-text salt).
    `evaluate_rulesets` takes {table: Glue ruleset name} and the run id,
    evaluates the run's staging with Glue Data Quality (results
    published under the context `"<table> <run_date>"`) and raises `steps.DayFailedChecks` naming each
    failed rule; otherwise it returns {table: rules passed}. Partitions are pointed in the Glue Data Catalog.
    """
    from awsglue.utils import getResolvedOptions  # noqa: PLC0415

    lake = args["lake_root"]

    def database() -> ShopDatabase:
        extra = getResolvedOptions(argv, ["jdbc_url", "database_secret", "pseudonym_secret"])
        secrets = boto3.client("secretsmanager")
        login = json.loads(secrets.get_secret_value(SecretId=extra["database_secret"])["SecretString"])
        salt = secrets.get_secret_value(SecretId=extra["pseudonym_secret"])["SecretString"]
        # The read-only ETL role holds no password: an RDS IAM token, made anew just before each table's
        # read (the URL's sslmode=require gives the TLS it needs).
        password = rds_iam_password(boto3.client("rds"), extra["jdbc_url"], login["username"])
        properties = {"user": login["username"], "password": password, "driver": "org.postgresql.Driver"}
        return ShopDatabase(extra["jdbc_url"], properties, salt)

    def with_glue_data_quality(rulesets: dict[str, str], run_id: str) -> dict[str, int]:
        return _evaluate_with_glue_data_quality(spark, glue_context, lake, run_date, rulesets, run_id)

    def glue_catalog() -> GlueCatalog:
        return GlueCatalog(boto3.client("glue"), args["database"], lake)

    return NightServices(database, with_glue_data_quality, glue_catalog)


def rds_iam_password(rds: Any, jdbc_url: str, username: str) -> Callable[[], str]:
    """A maker of RDS IAM auth tokens for `username` at `jdbc_url`'s host and port (5432 if none).

    `rds` is a boto3 RDS client (its region and credentials sign the token). Each call makes a new token:
    RDS takes a token for new connections during 15 minutes after it was made, so the extract calls this
    just before each read (`extract.login_now`), never once for the whole job. Making a token is local
    signing, no request; it raises botocore's NoCredentialsError without credentials.
    """
    address = urlparse(jdbc_url.removeprefix("jdbc:"))

    def token() -> str:
        return str(
            rds.generate_db_auth_token(DBHostname=address.hostname, Port=address.port or 5432, DBUsername=username)
        )

    return token


def _evaluate_with_glue_data_quality(  # noqa: PLR0917 - one run's own parameters
    spark: object, glue_context: object, lake: str, run_date: date, rulesets: dict[str, str], run_id: str
) -> dict[str, int]:  # pragma: no cover
    from awsglue.dynamicframe import DynamicFrame  # noqa: PLC0415
    from awsgluedq.transforms import EvaluateDataQuality  # noqa: PLC0415

    from shoplake_etl.steps import DayFailedChecks, staged_path  # noqa: PLC0415

    glue = boto3.client("glue")  # rulesets: table -> ruleset name
    failed, passed = [], {}
    for table, name in rulesets.items():
        frame = spark.read.parquet(staged_path(lake, run_id, table, run_date))  # type: ignore[attr-defined]
        outcome = EvaluateDataQuality().process_rows(
            frame=DynamicFrame.fromDF(frame, glue_context, table),
            ruleset=night_ruleset(table, glue.get_data_quality_ruleset(Name=name)["Ruleset"]),
            publishing_options={"dataQualityEvaluationContext": f"{table} {run_date}",
                                "enableDataQualityResultsPublishing": True},
        )  # fmt: skip
        results = outcome["ruleOutcomes"].toDF().collect()
        failed += [f"{table}: {r['Rule']}" for r in results if r["Outcome"] != "Passed"]
        passed[table] = sum(1 for r in results if r["Outcome"] == "Passed")
    if failed:
        raise DayFailedChecks(f"{run_date}: data-quality rule(s) failed: " + "; ".join(failed))
    return passed
