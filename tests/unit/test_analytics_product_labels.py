"""Products as the report shows them (a label of their own, the id where names read alike), and the product
dimension the analytics name them by: the newest published on or before the range's last day."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from analytics import report
from analytics.lake import Lake, lake_tables, run_query
from analytics.product_labels import product_labels, reads_as
from analytics.queries import query
from shoplake import lake_layout
from tests.analytics_lake import D24, D25, write_clickstream, write_lake

D26 = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("name", "twin"),
    [
        ("Linen shirt", "linen SHIRT"),  # letter case
        ("Linen shirt", "Ｌｉｎｅｎ shirt"),  # full-width letters
        ("Linen shirt", "Linen  shirt"),  # a doubled space, one space on the page
        ("Linen shirt", "Linen\u00ad shirt"),  # a soft hyphen, a format character
        ("Linen shirt", "\u200eLinen shirt"),  # a left-to-right mark
    ],
)
def test_names_a_reader_cannot_tell_apart_read_as_one(name: str, twin: str) -> None:
    assert reads_as(name) == reads_as(twin)


def test_a_name_of_its_own_stays_bare_and_names_alike_carry_their_ids() -> None:
    # GIVEN two products whose names differ in case only, and a third of its own name
    labels = product_labels({"10": "Shirt", "20": "SHIRT", "30": "Coat"})
    # THEN the two carry their ids, the third does not
    assert labels == {"10": "Shirt (#10)", "20": "SHIRT (#20)", "30": "Coat"}


def test_a_name_reading_like_another_products_label_gets_its_id_too() -> None:
    # GIVEN product 10 named "shirt (#11)", and products 11 and 12 both named "Shirt"
    labels = product_labels({"10": "shirt (#11)", "11": "Shirt", "12": "Shirt"})
    # THEN no two labels read alike: product 10 carries its own id after its name
    assert labels == {"10": "shirt (#11) (#10)", "11": "Shirt (#11)", "12": "Shirt (#12)"}
    assert len({reads_as(label) for label in labels.values()}) == 3


def _review_row(level: str, product_id: str | None, item: str, rating: float, place: int | None) -> dict[str, Any]:
    stars = {"one_star": 0, "two_stars": 0, "three_stars": 3, "four_stars": 0, "five_stars": 0}
    return {"level": level, "product_id": product_id, "item": item, "category": "tops", "reviews": 3} | stars | {
        "average_rating": rating, "worst_place": place
    }  # fmt: skip


def test_the_worst_rated_products_and_the_low_rated_comments_tell_products_sharing_a_name_apart() -> None:
    # GIVEN products 10 and 20, both "Shirt", among the worst rated and in the low-rated comments
    ratings = [_review_row("product", "10", "Shirt", 2.0, 1), _review_row("product", "20", "Shirt", 2.5, 2)]
    ratings += [_review_row("category", None, "tops", 2.2, None), _review_row("week", None, "2026-11-23", 2.2, None)]
    comments = [
        {"business_date": D24, "product_id": pid, "product": "Shirt", "category": "tops", "rating": 1, "body": "no"}
        for pid in ("10", "20")
    ]
    # WHEN the report draws them
    worst, listed = report._reviews(ratings), report._low_rated_comments(comments)
    # THEN each product carries its id; the category and the week keep their own names
    for page in (worst, listed):
        assert "<td>Shirt (#10)</td>" in page and "<td>Shirt (#20)</td>" in page
    assert "<td>tops</td>" in worst


def _lake_whose_last_days_are_unpublished(tmp_path: Path) -> Lake:
    """The lake, product 12 viewed on the 25th, and neither the 25th nor the 26th published."""
    lake = write_lake(tmp_path)
    write_clickstream(lake, [("e20", "2026-11-25T03:00", "product_view", "s20", None, "12", "KR", False)])
    (lake / lake_layout.day_manifest_key(D25)).unlink()
    return Lake(pafs.LocalFileSystem(), str(lake))


def test_a_range_none_of_whose_days_is_published_names_products_by_the_day_before_it(tmp_path: Path) -> None:
    # GIVEN product 12 ("Canvas sneakers") viewed on the 25th, and the 25th and 26th not published
    lake = _lake_whose_last_days_are_unpublished(tmp_path)
    # WHEN the sales rate is asked for the 25th to the 26th, each day read, or every day left to the query's filters
    for each in (lake, Lake(lake.filesystem, lake.root, prune=False)):
        rows = run_query(each, query("q4_sales_rate"), D25, D26).to_pylist()
        # THEN the 24th's dimension, the newest published before the range, names the sneakers
        assert [(r["product_id"], r["product"], r["category"]) for r in rows] == [("12", "Canvas sneakers", "shoes")]


def test_the_product_dimension_is_read_on_the_one_day_that_names_products(tmp_path: Path) -> None:
    # GIVEN the 25th not published, though its product_dim files are in the lake
    lake = _lake_whose_last_days_are_unpublished(tmp_path)
    product_dim = next(table for table in lake_tables() if table.name == "product_dim")
    # WHEN the dimension is read for the 23rd to the 25th
    files = lake.dataset(product_dim, date(2026, 11, 23), D25).files
    # THEN only the 24th's published version is read
    assert [Path(f).relative_to(lake.root).as_posix() for f in files] == [
        f"{lake_layout.ETL_CURATED}product_dim/{lake_layout.partition_path(D24)}version=v2/part-00000.parquet"
    ]
