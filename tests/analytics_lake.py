"""A small lake whose answers were worked out by hand, written the way shoplake writes it.

Every table is written with its declared schema: the clickstream contract, the offline-ads
form and `shoplake.curated` (which the ETL's output is tested against), where and as the
lake's writers put it (Firehose by UTC hour, the survey parser by Seoul day, the ETL's publish
step in a version folder per day).

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
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from shoplake import curated, lake_layout
from shoplake.clickstream.contract import NEEDS_PRICE_AND_QUANTITY, arrow_schema
from shoplake.surveys.forms import all_forms
from shoplake_etl.publication import DayManifest, LakeFiles, version_key

FIRST_DAY, LAST_DAY = date(2026, 11, 23), date(2026, 11, 24)


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
OHIO, SEOUL_REGION = "Ohio", "서울"
# Curated as the nightly ETL publishes them (shoplake.curated's columns). Alice (30s, female, US)
# first buys on the 23rd; Bob (20s, male, KR) first bought on the 22nd. Purchase 3 was cancelled:
# no sale.
SALES = [
    (1, "o1", D23, T, T, "alice", "30s", "female", "US", OHIO, True, 10, "tops", 2, "30.00", "60.00", "USD"),
    (2, "o2", D24, T, T, "alice", "30s", "female", "US", OHIO, False, 11, "outerwear", 1, "80.00", "80.00", "USD"),
    (4, "o4", D24, T, T, "bob", "20s", "male", "KR", SEOUL_REGION, False, 10, "tops", 3, "30.00", "90.00", "USD"),
    (5, "o5", D22, T, T, "bob", "20s", "male", "KR", SEOUL_REGION, True, 12, "shoes", 1, "50.00", "50.00", "USD"),
    (6, "o6", D25, T, T, "alice", "30s", "female", "US", OHIO, False, 12, "shoes", 5, "50.00", "250.00", "USD"),
]
# An older publication of the 24th, left beside the one its manifest names (as during a re-run): never read.
STALE_SALES = [
    (
        99,
        "o99",
        D24,
        T,
        T,
        "bob",
        "20s",
        "male",
        "KR",
        SEOUL_REGION,
        False,
        11,
        "outerwear",
        100,
        "80.00",
        "8000.00",
        "USD",
    ),
]


def _at(day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, 9, minute, tzinfo=UTC)


REVIEWS = [
    (100, 1, D23, _at(D23, 10), "alice", 10, "tops", 2, "seams came apart"),
    (101, 4, D24, _at(D24, 20), "bob", 10, "tops", 1, "too small"),
    (102, 2, D24, _at(D24, 30), "alice", 11, "outerwear", 5, "warm"),
    (103, 4, D24, _at(D24, 40), "bob", 10, "tops", 3, None),
    (104, 5, D25, _at(D25, 50), "bob", 12, "shoes", 1, "after the range"),
]
DAILY_PRODUCT_STATS = [
    (D22, 12, "shoes", 1, "50.00", 1, 0, None),
    (D23, 10, "tops", 2, "60.00", 1, 1, 2.0),
    (D24, 10, "tops", 3, "90.00", 1, 2, 2.0),
    (D24, 11, "outerwear", 1, "80.00", 1, 1, 5.0),
    (D25, 12, "shoes", 5, "250.00", 1, 1, 1.0),
]
# (Seoul day, UTC hour, visitors, sessions, page views) of the clickstream above, crawlers left out.
CLICKSTREAM_HOURLY = [
    (D22, "2026-11-22T14:00", 1, 1, 1),
    (D23, "2026-11-22T15:00", 1, 1, 1),
    (D23, "2026-11-23T01:00", 2, 2, 2),
    (D24, "2026-11-24T14:00", 1, 1, 1),
    (D25, "2026-11-24T15:00", 1, 1, 1),
]


def write_clickstream(lake: Path, events: list[tuple[Any, ...]] = EVENTS) -> None:
    schema = arrow_schema()
    for event_id, moment_text, kind, session, user, product, country, bot in events:
        moment = _utc(moment_text)
        record: dict[str, Any] = dict.fromkeys(schema.names)
        record |= {"event_id": event_id, "event_time": moment, "event_type": kind, "session_id": session}
        record |= {"user_id": user, "product_id": product, "category": "tops" if product else None}
        if kind in NEEDS_PRICE_AND_QUANTITY:
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


def _publish(lake: Path, table: str, day: date, rows: list[dict[str, Any]], version: str = "v2") -> None:
    """One day of a curated table, in its version folder, as the ETL's publish step leaves it."""
    folder = lake / lake_layout.ETL_CURATED / table / lake_layout.partition_path(day)
    folder = folder / f"{lake_layout.PUBLISHED_VERSION_KEY}={version}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=curated.arrow_schema(table)), folder / "part-00000.parquet")


# The products as the shop lists them; the rows above give ids, and each row takes its product's name from here.
PRODUCT_NAMES: dict[Any, str] = {10: "Linen shirt", 11: "울 코트 Wool coat", 12: "Canvas sneakers"}
PRODUCT_CATEGORIES: dict[Any, str] = {10: "tops", 11: "outerwear", 12: "shoes"}


def product_dim_rows(
    names: dict[Any, str] = PRODUCT_NAMES, categories: dict[Any, str] = PRODUCT_CATEGORIES
) -> list[dict[str, Any]]:
    """The product dimension as the ETL publishes it each day: every product, named as the shop lists it."""
    return [
        {
            "product_id": product,
            "product_name": name,
            "category": categories[product],
            "price": Decimal("30.00"),
            "currency": "USD",
            "updated_at": T,
        }
        for product, name in names.items()
    ]


def _rows(table: str, values: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    names = [name for name, _ in curated.COLUMNS[table] if name != "product_name"]
    decimals = {name for name, kind in curated.COLUMNS[table] if kind.startswith("decimal")}
    rows = [
        {n: Decimal(v) if n in decimals and v is not None else v for n, v in zip(names, row, strict=True)}
        for row in values
    ]
    named = "product_name" in dict(curated.COLUMNS[table])
    return [row | {"product_name": PRODUCT_NAMES.get(row["product_id"])} if named else row for row in rows]


def write_curated(lake: Path) -> None:
    """Sales, reviews, daily product statistics, hourly traffic and the products, published day by day."""
    tables = {
        "sales_fact": _rows("sales_fact", SALES),
        "review_fact": _rows("review_fact", REVIEWS),
        "daily_product_stats": _rows("daily_product_stats", DAILY_PRODUCT_STATS),
        "clickstream_hourly": [
            {"day": day, "hour": _utc(hour), "visitors": v, "sessions": s, "page_views": p}
            for day, hour, v, s, p in CLICKSTREAM_HOURLY
        ],
    }
    for table, rows in tables.items():
        day_of = (lambda r: r.pop("day")) if table == "clickstream_hourly" else (lambda r: r["business_date"])
        by_day: dict[date, list[dict[str, Any]]] = {}
        for row in rows:
            by_day.setdefault(day_of(row), []).append(row)
        for day, day_rows in by_day.items():
            _publish(lake, table, day, day_rows)
    for day in (D22, D23, D24, D25):
        _publish(lake, "product_dim", day, product_dim_rows())
    _publish(lake, "sales_fact", D24, _rows("sales_fact", STALE_SALES), version="v1")
    for day in (D22, D23, D24, D25):
        manifest = DayManifest(day, "night", "v2", {t: version_key(t, day, "v2") for t in lake_layout.CURATED_TABLES})
        LakeFiles(pafs.LocalFileSystem(), str(lake)).write_text(lake_layout.day_manifest_key(day), manifest.to_json())


def write_lake(lake: Path) -> Path:
    write_clickstream(lake)
    write_surveys(lake)
    write_curated(lake)
    return lake
