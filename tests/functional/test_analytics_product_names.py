"""The marketing questions name products by the product dimension of the range's last day, the newest published
on or before it (DuckDB, the Athena SQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from analytics.lake import Lake, run_query
from analytics.queries import query
from tests.analytics_lake import (
    D23,
    FIRST_DAY,
    LAST_DAY,
    PRODUCT_CATEGORIES,
    PRODUCT_NAMES,
    _publish,
    product_dim_rows,
    write_clickstream,
    write_lake,
)

RENAMED = "Linen shirt, relaxed fit"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    # GIVEN the hand-checked lake, where product 10 sold and was reviewed on the 23rd and the 24th
    directory: Path = write_lake(tmp_path_factory.mktemp("lake"))
    # AND product 13, never sold nor reviewed, viewed once on the 24th (12:00 in Seoul)
    write_clickstream(directory, [("e20", "2026-11-24T03:00", "product_view", "s20", None, "13", "KR", False)])
    # AND on the last day of the range the shop lists product 10 under a new name, and lists product 13,
    # while product 11 is missing from that day's dimension
    names = {10: RENAMED, 12: PRODUCT_NAMES[12], 13: "Silk scarf"}
    _publish(directory, "product_dim", LAST_DAY, product_dim_rows(names, PRODUCT_CATEGORIES | {13: "accessories"}))
    # AND an earlier day's dimension named product 10 otherwise
    _publish(directory, "product_dim", D23, product_dim_rows(PRODUCT_NAMES | {10: "Old linen shirt"}))
    yield Lake(pafs.LocalFileSystem(), str(directory))


def _rows(lake: Lake, name: str, first: date = FIRST_DAY, last: date = LAST_DAY) -> list[dict[str, Any]]:
    return run_query(lake, query(name), first, last).to_pylist()


def test_a_product_only_viewed_is_named_by_the_dimension(lake: Lake) -> None:
    # WHEN the sales rate is asked for the range
    rows = _rows(lake, "q4_sales_rate")
    # THEN the product only viewed has its name and category, not its id and `unknown`
    viewed = [row for row in rows if row["product_id"] == "13"]
    assert [(r["business_date"], r["product"], r["category"], r["units"], r["viewing_sessions"]) for r in viewed] == [
        (LAST_DAY, "Silk scarf", "accessories", 0, 1)
    ]


def test_a_product_renamed_after_its_sale_shows_its_current_name(lake: Lake) -> None:
    # WHEN the popular products, the sales rate and the low-rated comments are asked for the range
    popular = {row["item"] for row in _rows(lake, "q3_popular_products") if row["level"] == "product"}
    rate = {row["product"] for row in _rows(lake, "q4_sales_rate") if row["product_id"] == "10"}
    comments = {row["product"] for row in _rows(lake, "q5_low_rated_comments")}
    # THEN product 10 is named as the last day's dimension lists it, in every answer
    assert RENAMED in popular
    assert rate == {RENAMED}
    assert comments == {RENAMED}
    assert "Linen shirt" not in popular | rate | comments
    assert "Old linen shirt" not in popular | rate | comments


def test_a_product_the_dimension_lacks_keeps_the_name_its_facts_carry(lake: Lake) -> None:
    # WHEN the review ratings are asked for the range
    products = {row["item"]: row["category"] for row in _rows(lake, "q5_review_ratings") if row["level"] == "product"}
    # THEN product 11, missing from the last day's dimension, is named by its review; product 10 by the dimension
    assert products == {"울 코트 Wool coat": "outerwear", RENAMED: "tops"}


def test_the_dimension_of_the_ranges_last_day_names_products(lake: Lake) -> None:
    # WHEN the range ends on the 23rd, whose dimension named product 10 otherwise
    rows = _rows(lake, "q4_sales_rate", FIRST_DAY, D23)
    # THEN that day's name is the one shown
    assert {row["product"] for row in rows if row["product_id"] == "10"} == {"Old linen shirt"}
