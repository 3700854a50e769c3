"""The marketing questions read what the nightly ETL really publishes, from the shop database to curated/."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from analytics.lake import Lake, run_query
from analytics.queries import query
from local_stack.template import load_template, night_ruleset_texts
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.steps import (
    mark_checked,
    run_clean,
    run_clickstream_hourly,
    run_curate,
    run_extract,
    run_publish,
    run_quality,
)
from shoplake_etl.tables import ETL_DATABASE_ROLE
from tests.analytics_lake import write_clickstream

RUN_DATE = date(2026, 11, 23)


def test_the_questions_read_the_published_day(spark: Any, shop: tuple[Any, str], tmp_path: Path) -> None:
    # GIVEN a business day of the shop (Jane, born 1990, in the US, buys a 30.00 shirt on each of three days)
    # taken through the ETL's steps into the lake, beside the clickstream
    database, jdbc = shop
    database.execute("UPDATE purchase SET status = 'paid', paid_at = ordered_at")
    write_clickstream(tmp_path)
    root = tmp_path.as_uri() + "/"
    properties = {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}
    run_extract(spark, jdbc, properties, lake_root=root, run_date=RUN_DATE, salt="pepper")
    run_clean(spark, root, RUN_DATE)
    run_curate(spark, root, RUN_DATE, run_id="night-1")
    run_clickstream_hourly(spark, root, RUN_DATE, run_id="night-1")
    passed = run_quality(spark, root, RUN_DATE, night_ruleset_texts(load_template()), run_id="night-1")
    mark_checked(root, RUN_DATE, "night-1", passed)  # as the quality step does: publish requires it
    run_publish(spark, root, RUN_DATE, MemoryCatalog(), "20261124T020000000000Z", "night-1")
    lake = Lake(pafs.LocalFileSystem(), str(tmp_path))
    # WHEN the sales questions are asked of that day
    popular = run_query(lake, query("q3_popular_products"), RUN_DATE, RUN_DATE).to_pylist()
    rate = run_query(lake, query("q4_sales_rate"), RUN_DATE, RUN_DATE).to_pylist()
    # THEN the day's one sale is there, by her segment (she first bought the day before), and beside the funnel
    assert [(r["age_group"], r["gender"], r["country"], r["customer"], r["level"], r["units"]) for r in popular] == [
        ("30s", "female", "US", "returning", "category", 1),
        ("30s", "female", "US", "returning", "product", 1),
    ]
    assert [(r["units"], r["revenue"], r["orders"]) for r in rate if r["units"]] == [(1, Decimal("30.00"), 1)]
