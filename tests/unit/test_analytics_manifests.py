"""The day manifests as the catch-up and the analytics read them (review 17, beyond its attack tests), and the
products of the report named as a marketer can tell them apart."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from analytics import report
from analytics.lake import Lake, run_query
from analytics.queries import query
from shoplake import lake_layout
from shoplake_etl.publication import LakeFiles, published_days, version_key
from tests.analytics_lake import D23, D24, write_lake
from tests.unit.test_etl_attack17 import _product_rows, _q4_row, _rewrite


def test_a_manifest_key_of_a_day_no_calendar_has_is_logged_and_passed_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a manifest at a well-formed key whose day does not exist (a hand-made folder)
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    key = f"{lake_layout.ETL_PUBLISHED_DAYS}year=2026/month=13/day=01/{lake_layout.DAY_MANIFEST}"
    files.write_text(key, "{}")
    # WHEN the catch-up lists the published days
    with caplog.at_level(logging.WARNING):
        days = published_days(files)
    # THEN it is no published day, and the log names its key
    assert days == []
    assert key in caplog.text


def test_a_stray_key_under_the_published_days_is_logged_by_its_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the 23rd published, and a copy of its manifest in a folder named by hand
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    files.write_text(lake_layout.day_manifest_key(D23), "{}")
    stray = f"{lake_layout.ETL_PUBLISHED_DAYS}year=2026/month=11/day=24 (copy)/{lake_layout.DAY_MANIFEST}"
    files.write_text(stray, "{}")
    # WHEN the catch-up lists the published days
    with caplog.at_level(logging.WARNING):
        days = published_days(files)
    # THEN only the 23rd, and the stray copy is logged by its key
    assert days == [D23]
    assert stray in caplog.text


def test_a_file_in_a_dot_folder_of_a_version_is_not_read(tmp_path: Path) -> None:
    # GIVEN the lake, and Spark's .spark-staging output left inside the 24th's published sales version
    lake = write_lake(tmp_path)
    answer = run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q4_sales_rate"), D24, D24)
    version = lake / version_key("sales_fact", D24, "v2")
    (version / ".spark-staging-1").mkdir()
    (version / ".spark-staging-1" / "part-00000.parquet").write_bytes((version / "part-00000.parquet").read_bytes())
    # WHEN the day is asked for again THEN the same answer
    assert run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q4_sales_rate"), D24, D24) == answer


def test_two_products_sharing_a_name_are_told_apart_by_their_ids() -> None:
    # GIVEN two products named "Shirt", 10 and 20, and a third, 30, named "Coat"
    rows = [_q4_row(D23, "10", "Shirt", 1, "30.00"), _q4_row(D23, "20", "Shirt", 5, "500.00")]
    rows.append(_q4_row(D23, "30", "Coat", 1, "80.00"))
    # WHEN the report shows the sales rate per product
    products = "".join(_product_rows(report._sales_rate(rows)))
    # THEN each shared name carries its id; a name of its own stays bare
    assert "<td>Shirt (#20)</td>" in products and "<td>Shirt (#10)</td>" in products
    assert "<td>Coat</td>" in products


def test_a_low_rated_comment_names_its_product_by_its_latest_name(tmp_path: Path) -> None:
    # GIVEN product 10 reviewed as "Zebra shirt" on the 23rd, renamed "Linen shirt" by the 24th
    lake = write_lake(tmp_path)
    _rewrite(lake, "review_fact", D23, lambda r: r | {"product_name": "Zebra shirt"} if r["product_id"] == 10 else r)
    # WHEN the low-rated comments are listed
    rows = run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q5_low_rated_comments"), D23, D24).to_pylist()
    # THEN product 10 is "Linen shirt" on every comment
    assert {row["product"] for row in rows if row["product_id"] == "10"} == {"Linen shirt"}


@pytest.mark.parametrize(
    ("folders", "day"),
    [
        ("year=2026/month=11/day=04/", date(2026, 11, 4)),
        ("year=2028/month=02/day=29", date(2028, 2, 29)),
        ("year=2026/month=13/day=01/", None),  # no calendar has it
        ("year=2026/month=11/day=24 (copy)/", None),
        ("year=2026/month=11/day=٠٤/", None),  # digits of another script
        ("year=2026/month=11/", None),
        ("day=04/month=11/year=2026/", None),
    ],
)
def test_the_day_a_partition_path_spells_is_read_back_or_none(folders: str, day: date | None) -> None:
    # GIVEN folders as lake_layout.partition_path spells them, or not
    # THEN partition_day gives the day back, and None for anything else
    assert lake_layout.partition_day(folders) == day
    if day is not None:
        assert lake_layout.partition_day(lake_layout.partition_path(day)) == day
