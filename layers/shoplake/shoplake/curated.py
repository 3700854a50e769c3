"""The curated tables' columns: what the nightly ETL publishes and the marketing questions read.

Declared once: the Glue tables in template.yaml list the same columns (a test holds them
together), the ETL's curate step produces exactly these (tested on Spark), and the local
analytics build their fixtures from `arrow_schema`. Types are Glue's (Hive's) names.
Each table is partitioned by the Korean business day (`lake_layout.PARTITION_KEYS`).
"""

from __future__ import annotations

import re

import pyarrow as pa

from shoplake.lake_layout import CURATED_TABLES

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "sales_fact": (
        ("purchase_id", "bigint"),
        ("order_id", "string"),
        ("business_date", "date"),
        ("ordered_at", "timestamp"),
        ("paid_at", "timestamp"),
        ("customer_key", "string"),
        ("age_group", "string"),
        ("gender", "string"),
        ("country", "string"),
        ("region", "string"),
        ("is_new_customer", "boolean"),
        ("product_id", "bigint"),
        ("product_name", "string"),
        ("category", "string"),
        ("quantity", "int"),
        ("unit_price", "decimal(10,2)"),
        ("revenue", "decimal(12,2)"),
        ("currency", "string"),
    ),
    "review_fact": (
        ("review_id", "bigint"),
        ("purchase_id", "bigint"),
        ("business_date", "date"),
        ("created_at", "timestamp"),
        ("customer_key", "string"),
        ("product_id", "bigint"),
        ("product_name", "string"),
        ("category", "string"),
        ("rating", "int"),
        ("body", "string"),
    ),
    "daily_product_stats": (
        ("business_date", "date"),
        ("product_id", "bigint"),
        ("product_name", "string"),
        ("category", "string"),
        ("units", "bigint"),
        ("revenue", "decimal(14,2)"),
        ("orders", "bigint"),
        ("reviews", "bigint"),
        ("average_rating", "double"),
    ),
    "clickstream_hourly": (
        ("hour", "timestamp"),
        ("visitors", "bigint"),
        ("sessions", "bigint"),
        ("page_views", "bigint"),
    ),
    "product_dim": (
        ("product_id", "bigint"),
        ("product_name", "string"),
        ("category", "string"),
        ("price", "decimal(10,2)"),
        ("currency", "string"),
        ("updated_at", "timestamp"),
    ),
}
DESCRIPTIONS = {
    "sales_fact": "One row per sold order line, with the product's category and the buyer's segment (pseudonymous).",
    "review_fact": "One row per review by a customer, with the product reviewed and its category.",
    "daily_product_stats": "Per business day and product: units, revenue, orders, reviews and average rating.",
    "clickstream_hourly": "Per UTC hour of the business day: distinct visitors, sessions and page views (no crawlers).",
    "product_dim": "Every product the shop lists as of the business day: its name, category, price and currency.",
}
# The curated tables that name what the facts hold (lookups), not facts: an answer is empty when its facts are.
DIMENSIONS = ("product_dim",)
assert tuple(COLUMNS) == CURATED_TABLES, "lake_layout.CURATED_TABLES and the curated columns name the same tables"

_SIMPLE = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
    "double": pa.float64(),
}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")


def arrow_type(glue_type: str) -> pa.DataType:
    """The Arrow type of a Glue (Hive) column type used in `COLUMNS`.

    `decimal(p,s)` -> `decimal128(p, s)`; `timestamp` -> microseconds in UTC; `date` -> `date32`; `int` ->
    `int32`; `bigint` -> `int64`. Raises KeyError for any other type name (`array<...>`, `smallint`, ...).
    """
    decimal = _DECIMAL.fullmatch(glue_type)
    if decimal:
        return pa.decimal128(int(decimal[1]), int(decimal[2]))
    return _SIMPLE[glue_type]


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of curated `table`, columns in `COLUMNS` order, all nullable; KeyError for an unknown table."""
    return pa.schema([pa.field(name, arrow_type(kind)) for name, kind in COLUMNS[table]])


def glue_columns(table: str) -> list[dict[str, str]]:
    """`[{"Name": ..., "Type": ...}]` for curated `table`, as a Glue table's `StorageDescriptor.Columns`.

    The shape is Glue's `Column` structure (AWS Glue API reference). KeyError for an unknown table.
    """
    return [{"Name": name, "Type": kind} for name, kind in COLUMNS[table]]
