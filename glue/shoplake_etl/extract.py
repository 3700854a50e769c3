"""Extract: the shop tables as they were at the end of the run's day, personal data minimised."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake_etl.tables import PERSONAL_KEYS, SourceTable, extract_query


def pseudonymise(frame: DataFrame, salt: str) -> DataFrame:
    """Replace each personal key with a stable salted SHA-256: joins still work, names cannot be recovered.

    For each column in `PERSONAL_KEYS` that `frame` has (`customer_id` -> `customer_key`), the new column is
    the lower-case hex SHA-256 (64 characters, FIPS 180-4) of `salt` + the value as text; the original is
    dropped. A NULL key stays NULL. Lazy: nothing runs until the frame is written.
    """
    for column, replacement in PERSONAL_KEYS.items():
        if column in frame.columns:
            hashed = F.sha2(F.concat(F.lit(salt), F.col(column).cast("string")), 256)
            frame = frame.withColumn(replacement, hashed).drop(column)
    return frame


def login_now(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Spark's JDBC options for a read starting now: each zero-argument callable value called, in order.

    An RDS IAM token logs in new connections for 15 minutes only, so the extract's `password` is a
    token maker (`glue_services.rds_iam_password`), called here just before each read, never one token
    made at the job's start. Plain values are kept as they are. Raises what a callable raises.
    """
    return {key: value() if callable(value) else value for key, value in properties.items()}


def read_table(  # noqa: PLR0917 - the JDBC read's own parameters
    spark: SparkSession,
    jdbc_url: str,
    properties: Mapping[str, Any],
    table: SourceTable,
    since: datetime | None,
    until: datetime,
) -> DataFrame:
    """One source table over JDBC, only its needed columns, for the run's window.

    `jdbc_url` is a `jdbc:postgresql://host:port/db` URL and `properties` Spark's JDBC options (`user`,
    `password`, `driver`), where a callable value is made now (`login_now`: a fresh RDS IAM token);
    `since`/`until` are aware datetimes bounding `updated_at` for incremental tables (see `extract_query`).
    The driver logs in at once to learn the columns; the rows are read, over one more connection, when an
    action runs: run it at once (within the token's 15 minutes), and once (each action reads the database
    again). Connection and SQL errors surface as Spark (Py4J) exceptions.
    """
    query = f"({extract_query(table, since, until)}) AS extract"
    return spark.read.jdbc(jdbc_url, query, properties=login_now(properties))
