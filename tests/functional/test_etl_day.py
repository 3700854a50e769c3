"""A whole business day through the ETL's steps: shop database and clickstream in, checked curated tables out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_stack.template import load_template, night_ruleset_texts
from shoplake import lake_layout
from shoplake.clickstream.contract import arrow_schema
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import LakeFiles, read_manifest, version_key
from shoplake_etl.steps import (
    DayFailedChecks,
    StagingNotChecked,
    mark_checked,
    run_clean,
    run_clickstream_hourly,
    run_curate,
    run_extract,
    run_publish,
    run_quality,
    staged_path,
)
from shoplake_etl.superseded import read_superseded
from shoplake_etl.tables import ETL_DATABASE_ROLE

RUN_DATE = date(2026, 11, 23)
# Versions as the publish step makes them (publication.new_version): the time its run started, in UTC.
V1, V2 = "20261123T170000000000Z", "20261123T180000000000Z"
# What the quality step evaluates on each curated table: the rulesets its --rulesets names.
RULESETS = night_ruleset_texts(load_template())
# A marker as a quality step that passed rules on every table writes it (what publish requires).
EVERY_TABLE_CHECKED = dict.fromkeys(lake_layout.CURATED_TABLES, 1)


def _clickstream(lake: Path) -> None:
    """Three events in the Seoul day (one by a crawler) and one outside it, as Firehose writes them."""
    rows = [
        ("e1", datetime(2026, 11, 22, 16, 5, tzinfo=UTC), "page_view", "s1", False),
        ("e2", datetime(2026, 11, 22, 16, 9, tzinfo=UTC), "product_view", "s1", False),
        ("e3", datetime(2026, 11, 23, 3, 0, tzinfo=UTC), "page_view", "bot", True),
        ("e4", datetime(2026, 11, 23, 16, 0, tzinfo=UTC), "page_view", "s9", False),  # the next Seoul day
    ]
    schema = arrow_schema()
    for event_id, moment, kind, session, bot in rows:
        record: dict[str, Any] = dict.fromkeys(schema.names)
        record |= {"event_id": event_id, "event_time": moment, "event_type": kind, "session_id": session}
        record |= {"device_class": "bot" if bot else "desktop", "is_bot": bot, "schema_version": 1}
        folder = lake / lake_layout.CLICKSTREAM_EVENTS / lake_layout.partition_path(moment.date()) / f"hour={moment:%H}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([record], schema=schema), folder / f"{event_id}.parquet")


def test_a_day_goes_from_the_shop_to_published_curated_tables(
    spark: Any, shop: tuple[Any, str], tmp_path: Path
) -> None:
    database, jdbc = shop
    database.execute("UPDATE purchase SET status = 'paid', paid_at = ordered_at")
    # A product never sold nor reviewed, its category spelt as its seller spells it
    database.execute(
        "INSERT INTO product (seller_id, name, category, price) SELECT seller_id, 'Wool coat', ' Outerwear ', 80 "
        "FROM product LIMIT 1"
    )
    _clickstream(tmp_path)
    lake = tmp_path.as_uri() + "/"
    properties = {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}
    run_extract(spark, jdbc, properties, lake_root=lake, run_date=RUN_DATE, salt="pepper")
    run_clean(spark, lake, RUN_DATE)
    assert run_curate(spark, lake, RUN_DATE, run_id="n1") == {
        "sales_fact": 1,
        "review_fact": 0,
        "daily_product_stats": 1,
        "product_dim": 2,
    }
    assert run_clickstream_hourly(spark, lake, RUN_DATE, run_id="n1") == 1  # one hour with people in it
    passed = run_quality(spark, lake, RUN_DATE, RULESETS, run_id="n1")
    assert passed == {"sales_fact": 10, "review_fact": 5, "daily_product_stats": 6, "clickstream_hourly": 6,
                      "product_dim": 4}  # fmt: skip
    mark_checked(lake, RUN_DATE, "n1", passed)  # as the quality step does once every rule passed
    catalog = MemoryCatalog()
    published = run_publish(spark, lake, RUN_DATE, catalog, V1, "n1")
    tables = {"sales_fact": 1, "review_fact": 0, "daily_product_stats": 1, "clickstream_hourly": 1, "product_dim": 2}
    assert published == tables | {"repaired": []}
    hourly = spark.read.parquet(lake + str(catalog.location("clickstream_hourly", RUN_DATE))).collect()
    assert [(r["visitors"], r["page_views"]) for r in hourly] == [(1, 2)]
    sales = spark.read.parquet(lake + str(catalog.location("sales_fact", RUN_DATE))).collect()
    assert [(r["category"], r["country"]) for r in sales] == [("tops", "US")]
    # The day's product dimension is every product the shop lists, sold or not, in its business category
    products = spark.read.parquet(lake + str(catalog.location("product_dim", RUN_DATE))).collect()
    assert sorted((r["product_name"], r["category"]) for r in products) == [
        ("Shirt", "tops"),
        ("Wool coat", "outerwear"),
    ]
    manifest = read_manifest(LakeFiles.from_uri(lake), RUN_DATE)
    assert manifest is not None
    assert manifest.tables["product_dim"] == version_key("product_dim", RUN_DATE, V1)
    assert not (tmp_path / lake_layout.staging_prefix("n1")).exists()  # the run's staging goes once published
    # Re-running the day (its own staging) publishes a new version and moves the catalog to it; the previous
    # version stays, noted as superseded, for queries that listed its files (a later publish removes it).
    run_curate(spark, lake, RUN_DATE, run_id="n2")
    run_clickstream_hourly(spark, lake, RUN_DATE, run_id="n2")
    mark_checked(lake, RUN_DATE, "n2", run_quality(spark, lake, RUN_DATE, RULESETS, run_id="n2"))
    run_publish(spark, lake, RUN_DATE, catalog, V2, "n2")
    day = tmp_path / lake_layout.ETL_CURATED / "sales_fact" / lake_layout.partition_path(RUN_DATE)
    assert sorted(p.name for p in day.iterdir()) == [f"version={V1}", f"version={V2}"]
    assert set(read_superseded(LakeFiles.from_uri(lake), RUN_DATE)) == {V1}
    assert catalog.location("sales_fact", RUN_DATE) == version_key("sales_fact", RUN_DATE, V2)


def test_a_day_that_breaks_a_rule_is_not_published(spark: Any, tmp_path: Path) -> None:
    lake = tmp_path.as_uri() + "/"
    bad = spark.createDataFrame([(1, -5, 1, 0)], "product_id long, units long, revenue long, orders long")
    bad = bad.selectExpr("date'2026-11-23' AS business_date", "*")
    bad.write.parquet(staged_path(lake, "n1", "daily_product_stats", RUN_DATE))
    rulesets = {"daily_product_stats": RULESETS["daily_product_stats"]}
    with pytest.raises(DayFailedChecks, match=r'daily_product_stats: ColumnValues "units" >= 0 \(1 rows fail\)'):
        run_quality(spark, lake, RUN_DATE, rulesets, run_id="n1")


def _stage_every_table(spark: Any, lake: str, run_id: str, rows: int = 1) -> None:
    frame = spark.range(rows).selectExpr("id AS product_id")
    for table in lake_layout.CURATED_TABLES:
        frame.write.mode("overwrite").parquet(staged_path(lake, run_id, table, RUN_DATE))


def test_publish_refuses_staging_its_quality_step_did_not_mark_as_checked(spark: Any, tmp_path: Path) -> None:
    # GIVEN run n1 staged every table of the day, but its quality step never passed them
    lake = tmp_path.as_uri() + "/"
    _stage_every_table(spark, lake, "n1")
    catalog = MemoryCatalog()
    # WHEN n1 publishes, THEN it is refused, naming the run and the day, and nothing is published
    with pytest.raises(StagingNotChecked, match=r"run n1, day 2026-11-23: nothing published: .* not checked"):
        run_publish(spark, lake, RUN_DATE, catalog, "v1", "n1")
    assert catalog.partitions == {} and not (tmp_path / lake_layout.ETL_CURATED).exists()
    # GIVEN another run's marker copied into n1's staging: refused too, naming whose marker it is
    _stage_every_table(spark, lake, "n0")
    key = mark_checked(lake, RUN_DATE, "n0", EVERY_TABLE_CHECKED)
    (tmp_path / lake_layout.checked_marker_key("n1", RUN_DATE)).parent.mkdir(parents=True)
    (tmp_path / lake_layout.checked_marker_key("n1", RUN_DATE)).write_bytes((tmp_path / key).read_bytes())
    with pytest.raises(StagingNotChecked, match=r"run n1, day 2026-11-23: .* marks run n0, day 2026-11-23"):
        run_publish(spark, lake, RUN_DATE, catalog, "v1", "n1")
    # GIVEN n1 checked, then its staging rewritten (a stray curate): refused, the new files were never checked
    mark_checked(lake, RUN_DATE, "n1", EVERY_TABLE_CHECKED)
    _stage_every_table(spark, lake, "n1", rows=2)
    with pytest.raises(StagingNotChecked, match=r"run n1, day 2026-11-23: .* changed after its quality step"):
        run_publish(spark, lake, RUN_DATE, catalog, "v1", "n1")
    assert catalog.partitions == {}
    # WHEN the staging is checked as it is, THEN it publishes
    mark_checked(lake, RUN_DATE, "n1", EVERY_TABLE_CHECKED)
    published = run_publish(spark, lake, RUN_DATE, catalog, "v1", "n1")
    assert published == dict.fromkeys(lake_layout.CURATED_TABLES, 2) | {"repaired": []}


def test_a_day_without_clickstream_has_no_busy_hours(spark: Any, tmp_path: Path) -> None:
    # GIVEN a lake where Firehose has written nothing for the Seoul day's two UTC days
    lake = tmp_path.as_uri() + "/"
    # WHEN the hourly clickstream step runs
    hours = run_clickstream_hourly(spark, lake, RUN_DATE, run_id="n1")
    # THEN it stages an empty table with the curated columns, rather than failing the night
    assert hours == 0
    staged = spark.read.parquet(staged_path(lake, "n1", "clickstream_hourly", RUN_DATE))
    assert staged.columns == ["hour", "visitors", "sessions", "page_views"]
