"""A small lake whose answers were worked out by hand, written the way shoplake writes it.

The clickstream and the survey answers are written with their declared schemas
(`shoplake.clickstream.contract`, the offline-ads form); the curated tables are computed and
written by the nightly ETL's own functions on a local SparkSession, so the queries run on
exactly what the ETL publishes.

The range under test is the Seoul days 2026-11-23 (a Monday) and 2026-11-24. Each table also
holds rows on the days around it, which no answer may count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from shoplake import lake_layout
from shoplake.clickstream.contract import arrow_schema
from shoplake.surveys.forms import all_forms

FIRST_DAY, LAST_DAY = date(2026, 11, 23), date(2026, 11, 24)
SEOUL = ZoneInfo("Asia/Seoul")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (event id, UTC time, type, session, user, product, country, crawler)
EVENTS = [
    ("e1", "2026-11-22T15:30", "page_view", "s1", "u1", None, "KR", False),  # Mon 00:30 in Seoul
    ("e2", "2026-11-23T01:10", "product_view", "s2", None, "10", "US", False),  # Sun 20:10 in New York
    ("e3", "2026-11-23T01:20", "add_to_cart", "s2", None, "10", "US", False),
    ("e4", "2026-11-23T01:40", "product_view", "s3", "u1", "10", "KR", False),  # Mon 10:40 in Seoul
    ("e5", "2026-11-23T01:50", "purchase", "s3", "u1", "10", "KR", False),
    ("e6", "2026-11-23T01:15", "page_view", "bot1", None, None, "US", True),  # a crawler
    ("e7", "2026-11-24T14:59", "page_view", "s4", "u2", None, "GB", False),  # Tue 23:59 in Seoul, 14:59 in London
    ("e8", "2026-11-24T15:00", "page_view", "s5", "u3", None, "KR", False),  # Wed 00:00 in Seoul: after the range
    ("e9", "2026-11-22T14:00", "page_view", "s6", "u4", None, "KR", False),  # Sun 23:00 in Seoul: before it
    ("e10", "2026-11-26T03:00", "page_view", "s7", "u5", None, "KR", False),
]

# (respondent, UTC time, channel, age group, country, region)
ANSWERS = [
    ("a1", "2026-11-23T01:00", "subway", "20s", "KR", "Seoul"),
    ("a2", "2026-11-22T16:00", "subway", "30s", "KR", "Busan"),  # 01:00 on the 23rd in Seoul
    ("a3", "2026-11-24T03:00", "tv", "20s", "KR", "Seoul"),
    ("a4", "2026-11-24T04:00", "friend", "30s", "US", None),
    ("a5", "2026-11-25T01:00", "tv", "40s", "KR", "Seoul"),  # after the range
    ("a6", "2026-11-22T14:00", "print", "40s", "KR", "Seoul"),  # before it
]

D22, D23, D24, D25 = (date(2026, 11, d) for d in (22, 23, 24, 25))
T = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
# Alice (30s, female, US) first buys on the 23rd; Bob (20s, male, KR) first bought on the 22nd.
PURCHASES = [
    (1, "o1", "alice", 10, 2, Decimal("30.00"), "USD", "paid", T, T, D23),
    (2, "o2", "alice", 11, 1, Decimal("80.00"), "USD", "delivered", T, T, D24),
    (3, "o3", "bob", 10, 1, Decimal("30.00"), "USD", "cancelled", T, None, D24),  # no sale
    (4, "o4", "bob", 10, 3, Decimal("30.00"), "USD", "paid", T, T, D24),
    (5, "o5", "bob", 12, 1, Decimal("50.00"), "USD", "paid", T, T, D22),
    (6, "o6", "alice", 12, 5, Decimal("50.00"), "USD", "paid", T, T, D25),
]
PURCHASE_COLUMNS = (
    "purchase_id long, order_id string, customer_key string, product_id long, quantity int, "
    "unit_price decimal(10,2), currency string, status string, ordered_at timestamp, paid_at timestamp, "
    "business_date date"
)
PRODUCTS = [(10, "tops"), (11, "outerwear"), (12, "shoes")]
CUSTOMERS = [("alice", "30s", "female", "US", "Ohio", D23), ("bob", "20s", "male", "KR", "서울", D22)]
# (review, purchase, day written, minute of that day, rating, comment)
REVIEWS = [
    (100, 1, D23, 10, 2, "seams came apart"),
    (101, 4, D24, 20, 1, "too small"),
    (102, 2, D24, 30, 5, "warm"),
    (103, 4, D24, 40, 3, None),
    (104, 5, D25, 50, 1, "after the range"),
]


def write_clickstream(lake: Path, events: list[tuple[Any, ...]] = EVENTS) -> None:
    schema = arrow_schema()
    for event_id, moment_text, kind, session, user, product, country, bot in events:
        moment = _utc(moment_text)
        record: dict[str, Any] = dict.fromkeys(schema.names)
        record |= {"event_id": event_id, "event_time": moment, "event_type": kind, "session_id": session}
        record |= {"user_id": user, "product_id": product, "category": "tops" if product else None}
        if kind in ("add_to_cart", "purchase"):
            record |= {"price": 30.0, "quantity": 1}
        record |= {"country": country, "device_class": "bot" if bot else "desktop", "is_bot": bot}
        record |= {"schema_version": 1}
        folder = lake / lake_layout.CLICKSTREAM_EVENTS / lake_layout.partition_path(moment.date()) / f"hour={moment:%H}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([record], schema=schema), folder / f"{event_id}.parquet")


def write_surveys(lake: Path) -> None:
    form = next(f for f in all_forms() if f.form == "offline_ads")
    schema = form.arrow_schema()
    for row, (respondent, moment_text, channel, age_group, country, region) in enumerate(ANSWERS, start=2):
        moment = _utc(moment_text)
        record: dict[str, Any] = dict.fromkeys(schema.names)
        record |= {"respondent_id": respondent, "submitted_at": moment, "first_heard_channel": channel}
        record |= {"age_group": age_group, "gender": "female", "country": country, "region": region}
        record |= {"satisfaction": 4, "recommend_likelihood": 8}
        record |= {"source_file": "inbox/survey.xlsx", "source_row": row, "form_version": form.version}
        day = moment.astimezone(ZoneInfo(form.timezone)).date()
        folder = lake / lake_layout.survey_table_prefix(form.table) / lake_layout.partition_path(day)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([record], schema=schema), folder / f"{respondent}.parquet")


def write_curated(spark: Any, lake: Path) -> None:
    """Sales, reviews and daily product statistics, as the ETL curates and publishes them, day by day."""
    from pyspark.sql import functions as F  # noqa: N812, PLC0415 - Spark only where the curated tables are built

    from shoplake_etl.clickstream_hourly import hourly_traffic  # noqa: PLC0415
    from shoplake_etl.curate import daily_product_stats, review_fact, sales_fact  # noqa: PLC0415
    from shoplake_etl.steps import table_path  # noqa: PLC0415

    purchases = spark.createDataFrame(PURCHASES, PURCHASE_COLUMNS)
    products = spark.createDataFrame(PRODUCTS, "product_id long, category string")
    customers = spark.createDataFrame(
        CUSTOMERS,
        "customer_key string, age_group string, gender string, country string, region string, first_order_date date",
    )
    bought = {purchase[0]: (purchase[3], purchase[2]) for purchase in PURCHASES}  # product and buyer
    reviews = spark.createDataFrame(
        [
            (r, p, *bought[p], day, datetime(day.year, day.month, day.day, 9, m, tzinfo=UTC), s, b)
            for r, p, day, m, s, b in REVIEWS
        ],
        "review_id long, purchase_id long, product_id long, customer_key string, business_date date, "
        "created_at timestamp, rating int, body string",
    )
    sales = sales_fact(purchases, products, customers)
    rated = review_fact(reviews, products, customers)
    root = lake.as_uri() + "/"
    hourly = hourly_traffic(spark.read.parquet(root + lake_layout.CLICKSTREAM_EVENTS))
    tables = {
        "sales_fact": sales,
        "review_fact": rated,
        "daily_product_stats": daily_product_stats(sales, rated),
        "clickstream_hourly": hourly.withColumn("business_date", F.to_date(F.from_utc_timestamp("hour", "Asia/Seoul"))),
    }
    for name, frame in tables.items():
        for day in (D22, D23, D24, D25, date(2026, 11, 26)):
            daily = frame.where(F.col("business_date") == F.lit(day)).coalesce(1)
            if name == "clickstream_hourly":  # the ETL's hourly table has no date column: its partition says the day
                daily = daily.drop("business_date")
            daily.write.mode("overwrite").parquet(table_path(root, lake_layout.ETL_CURATED, name, day))


def write_lake(spark: Any, lake: Path) -> Path:
    write_clickstream(lake)
    write_surveys(lake)
    write_curated(spark, lake)
    return lake
