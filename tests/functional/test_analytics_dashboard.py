"""The dashboard's data sets name products as the report does, by the newest published product dimension (DuckDB)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from analytics.dashboard import DATA_SETS, data_set_query
from analytics.lake import Lake, run_query
from analytics.queries import query
from tests.analytics_lake import (
    D23,
    D25,
    PRODUCT_CATEGORIES,
    PRODUCT_NAMES,
    REVIEWS,
    SALES,
    _publish,
    product_dim_rows,
    write_lake,
)
from tests.unit.test_analytics_template import quicksight_type

RENAMED = "Linen shirt, relaxed fit"
D26 = D25.replace(day=26)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    # GIVEN the hand-checked lake, its days published up to the 25th; product 10 sold on the 23rd and the 24th
    directory: Path = write_lake(tmp_path_factory.mktemp("lake"))
    # AND the newest published dimension (the 25th) lists product 10 under a new name and product 12 as
    # sneakers for men, in a new category, while product 11 is missing from it
    names = {10: RENAMED, 12: "Canvas sneakers for men"}
    _publish(directory, "product_dim", D25, product_dim_rows(names, PRODUCT_CATEGORIES | {12: "men's shoes"}))
    # AND an older day's dimension named product 10 otherwise
    _publish(directory, "product_dim", D23, product_dim_rows(PRODUCT_NAMES | {10: "Old linen shirt"}))
    # AND the 26th's dimension was written but never published (no manifest: its night did not finish)
    _publish(directory, "product_dim", D26, product_dim_rows(PRODUCT_NAMES | {10: "Unpublished shirt"}))
    # Every day of every table, as Athena reads the whole tables a SPICE refresh asks for
    yield Lake(pafs.LocalFileSystem(), str(directory), prune=False)


def _data_set(lake: Lake, key: str) -> list[dict[str, Any]]:
    (data_set,) = [each for each in DATA_SETS if each.key == key]
    # the days only bound the pruning, which this lake does not do: the data set has no parameters
    return run_query(lake, data_set_query(data_set), D23, D25).to_pylist()


def test_every_sale_is_named_by_the_newest_published_dimension(lake: Lake) -> None:
    # WHEN the sales data set is refreshed
    rows = _data_set(lake, "sales")
    # THEN each sale is there once, product 10 under its newest name, whatever day it sold and whatever
    # the older or the unpublished dimension say; product 12 in its newest category
    assert len(rows) == len(SALES)
    named = {(row["product_id"], row["product_name"], row["category"]) for row in rows}
    assert named == {
        (10, RENAMED, "tops"),
        (11, "울 코트 Wool coat", "outerwear"),  # missing from the dimension: named by its sales
        (12, "Canvas sneakers for men", "men's shoes"),
    }
    assert sum(row["quantity"] for row in rows if row["product_id"] == 10) == 5


def test_every_review_is_named_by_the_newest_published_dimension(lake: Lake) -> None:
    # WHEN the reviews data set is refreshed
    rows = _data_set(lake, "reviews")
    # THEN every review is there, each product named as in the sales data set
    assert sorted(row["body"] or "" for row in rows) == sorted(review[-1] or "" for review in REVIEWS)
    assert {(row["product_id"], row["product_name"]) for row in rows} == {
        (10, RENAMED),
        (11, "울 코트 Wool coat"),
        (12, "Canvas sneakers for men"),
    }


def test_the_dashboard_and_the_report_of_the_newest_day_name_products_alike(lake: Lake) -> None:
    # WHEN the report's popular products end on the newest published day, and the sales data set is refreshed
    report = {
        row["item"]
        for row in run_query(lake, query("q3_popular_products"), D23, D25).to_pylist()
        if row["level"] == "product"
    }
    dashboard = {row["product_name"] for row in _data_set(lake, "sales") if row["business_date"] >= D23}
    # THEN both name the products the same way
    assert report == dashboard


@pytest.mark.parametrize("data_set", DATA_SETS, ids=lambda data_set: data_set.key)
def test_each_data_set_gives_the_columns_and_types_the_template_declares(lake: Lake, data_set: Any) -> None:
    # WHEN the data set is refreshed
    table = run_query(lake, data_set_query(data_set), D23, D25)
    # THEN its columns are the declared ones, in order, each of the QuickSight type declared for it
    assert [(field.name, quicksight_type(field.type)) for field in table.schema] == list(data_set.columns)
