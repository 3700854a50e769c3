"""The nightly ETL's steps with their lake reads and writes, for one business day.

`lake_root` is `s3://<lake bucket>/` in Glue and a local directory URI in the tests; the
paths under it come from `shoplake.lake_layout`. Writing a day's partition replaces it, so
re-running a day never duplicates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame, SparkSession

from shoplake import lake_layout
from shoplake_etl.clean import BUSINESS_TIME_ZONE, clean_customers, clean_products, clean_purchases, clean_reviews
from shoplake_etl.extract import pseudonymise, read_table
from shoplake_etl.tables import SOURCE_TABLES


def day_window(run_date: date) -> tuple[datetime, datetime]:
    """The business day in Seoul, as a UTC interval [since, until)."""
    start = datetime.combine(run_date, time(), tzinfo=ZoneInfo(BUSINESS_TIME_ZONE)).astimezone(UTC)
    return start, start + timedelta(days=1)


def table_path(lake_root: str, stage: str, table: str, run_date: date) -> str:
    return f"{lake_root}{stage}{table}/{lake_layout.partition_path(run_date)}"


def run_extract(
    spark: SparkSession, jdbc_url: str, properties: dict[str, Any], *, lake_root: str, run_date: date, salt: str
) -> dict[str, int]:
    """Each source table's rows for the day (whole, for small tables) under raw/; returns row counts."""
    since, until = day_window(run_date)
    counts = {}
    for table in SOURCE_TABLES:
        frame = pseudonymise(read_table(spark, jdbc_url, properties, table, since, until), salt)
        frame.write.mode("overwrite").parquet(table_path(lake_root, lake_layout.ETL_RAW, table.name, run_date))
        counts[table.name] = frame.count()
    return counts


def _raw(spark: SparkSession, lake_root: str, table: str, run_date: date) -> DataFrame:
    return spark.read.parquet(table_path(lake_root, lake_layout.ETL_RAW, table, run_date))


def run_clean(spark: SparkSession, lake_root: str, run_date: date) -> dict[str, int]:
    """The day's raw tables cleaned under clean/; returns row counts."""
    cleaned = {
        "customer": clean_customers(_raw(spark, lake_root, "customer", run_date), run_date),
        "product": clean_products(_raw(spark, lake_root, "product", run_date)),
        "purchase": clean_purchases(_raw(spark, lake_root, "purchase", run_date)),
        "review": clean_reviews(_raw(spark, lake_root, "review", run_date)),
    }
    counts = {}
    for name, frame in cleaned.items():
        frame.write.mode("overwrite").parquet(table_path(lake_root, lake_layout.ETL_CLEAN, name, run_date))
        counts[name] = frame.count()
    return counts
