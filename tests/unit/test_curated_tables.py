"""The curated tables: declared once, cataloged as declared, produced as declared, published atomically."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.template import load_template
from shoplake import curated, lake_layout
from shoplake_etl.catalog import catch_up_since, partition_values, point_partition
from shoplake_etl.clickstream_hourly import hourly_traffic
from shoplake_etl.curate import daily_product_stats, sales_fact
from tests.unit.test_etl_curate import _frames, day_two_reviews

TABLES = {
    "sales_fact": "SalesFactTable",
    "review_fact": "ReviewFactTable",
    "daily_product_stats": "DailyProductStatsTable",
    "clickstream_hourly": "ClickstreamHourlyTable",
    "product_dim": "ProductDimTable",
}


def _table_input(table: str) -> dict[str, Any]:
    properties: dict[str, Any] = load_template()["Resources"][TABLES[table]]["Properties"]
    return dict(properties["TableInput"])


@pytest.mark.parametrize("table", lake_layout.CURATED_TABLES)
def test_each_glue_table_has_the_declared_columns_and_day_partitions(table: str) -> None:
    table_input = _table_input(table)
    assert table_input["Name"] == table
    assert table_input["StorageDescriptor"]["Columns"] == curated.glue_columns(table)
    assert [k["Name"] for k in table_input["PartitionKeys"]] == list(lake_layout.PARTITION_KEYS)
    assert table_input["StorageDescriptor"]["Location"]["Fn::Sub"].endswith(f"/{lake_layout.ETL_CURATED}{table}/")
    assert "projection.enabled" not in table_input["Parameters"]  # the publish step registers each day


def _glue_types(frame: Any) -> list[tuple[str, str]]:
    return [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]


def test_the_curate_step_produces_exactly_the_declared_columns(spark: Any) -> None:
    purchases, products, customers = _frames(spark)
    sales = sales_fact(purchases, products, customers)
    reviews = day_two_reviews(spark, products, customers)
    assert _glue_types(sales) == list(curated.COLUMNS["sales_fact"])
    assert _glue_types(reviews) == list(curated.COLUMNS["review_fact"])
    assert _glue_types(daily_product_stats(sales, reviews)) == list(curated.COLUMNS["daily_product_stats"])


def test_the_hourly_clickstream_has_the_declared_columns(spark: Any) -> None:
    events = spark.createDataFrame(
        [("e1", "s1", None, "page_view", False)],
        "event_id string, session_id string, user_id string, event_type string, is_bot boolean",
    ).selectExpr("*", "timestamp'2026-11-23 03:00:00' AS event_time")
    assert _glue_types(hourly_traffic(events)) == list(curated.COLUMNS["clickstream_hourly"])


def test_arrow_schemas_follow_the_declared_types() -> None:
    schema = curated.arrow_schema("sales_fact")
    assert schema.names == [name for name, _ in curated.COLUMNS["sales_fact"]]
    assert str(schema.field("revenue").type) == "decimal128(12, 2)"


def _catalog_with_sales_fact() -> Any:
    """The sales table in moto's catalog, as the template declares it, in database `lake`."""
    glue = boto3.client("glue", region_name="ap-northeast-2")
    glue.create_database(DatabaseInput={"Name": "lake"})
    table_input = _table_input("sales_fact")
    table_input["StorageDescriptor"] = {**table_input["StorageDescriptor"], "Location": "s3://lake/curated/sales_fact/"}
    glue.create_table(DatabaseName="lake", TableInput=table_input)
    return glue


@mock_aws
def test_publishing_creates_the_days_partition_then_moves_it_to_the_new_version() -> None:
    # GIVEN the sales table in the catalog, as the template declares it
    glue = _catalog_with_sales_fact()
    day, folder = date(2026, 11, 24), "s3://lake/curated/sales_fact/year=2026/month=11/day=24/"
    # WHEN the day is published, then published again
    assert point_partition(glue, "lake", "sales_fact", day, folder + "version=a/") is True
    assert point_partition(glue, "lake", "sales_fact", day, folder + "version=b/") is False
    # THEN there is one partition for the day, at the newest version, with the table's columns
    (partition,) = glue.get_partitions(DatabaseName="lake", TableName="sales_fact")["Partitions"]
    assert partition["Values"] == partition_values(day) == ["2026", "11", "24"]
    assert partition["StorageDescriptor"]["Location"] == folder + "version=b/"
    assert partition["StorageDescriptor"]["Columns"] == curated.glue_columns("sales_fact")


@pytest.mark.parametrize(
    ("published", "since"),
    [
        ([], date(2026, 11, 24)),  # the first night: its own day
        ([date(2026, 11, 23)], date(2026, 11, 24)),  # last night succeeded: its own day
        ([date(2026, 11, 20), date(2026, 11, 21)], date(2026, 11, 22)),  # two nights failed: from the first of them
        ([date(2026, 11, 22), date(2026, 11, 24), date(2026, 11, 25)], date(2026, 11, 23)),  # a re-run ignores later
        ([date(2026, 10, 1)], date(2026, 11, 18)),  # a long gap is capped at a week; older days are back-filled
    ],
)
def test_a_scheduled_night_extracts_from_the_day_after_the_last_success(published: list[date], since: date) -> None:
    assert catch_up_since(date(2026, 11, 24), published) == since
