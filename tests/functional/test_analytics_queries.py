"""The marketing questions, answered by the same SQL files Athena runs, on DuckDB over a hand-checked lake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from analytics.lake import Lake, run_query
from analytics.queries import all_queries, query
from tests.analytics_lake import FIRST_DAY, LAST_DAY, write_lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    directory = write_lake(tmp_path_factory.mktemp("lake"))
    yield Lake(pafs.LocalFileSystem(), str(directory))


def _rows(lake: Lake, name: str, first: date = FIRST_DAY, last: date = LAST_DAY) -> list[tuple[Any, ...]]:
    table = run_query(lake, query(name), first, last)
    return [tuple(row.values()) for row in table.to_pylist()]


def test_busiest_hours_count_people_on_korea_and_the_visitors_clock(lake: Lake) -> None:
    # GIVEN the clickstream of two Seoul days, with a crawler and events just outside them
    # WHEN the busiest-hours query runs over those days
    rows = _rows(lake, "q1_busiest_hours")
    # THEN (clock, ISO day of week, hour, visitors, sessions):
    assert rows == [
        ("korea", 1, 0, 1, 1),  # e1: Monday 00:30 in Seoul, though Sunday in UTC
        ("korea", 1, 10, 2, 2),  # anonymous session s2 and signed-in u1; not the crawler
        ("korea", 2, 23, 1, 1),  # e7 at 23:59; e8 at midnight belongs to Wednesday
        ("visitor", 1, 0, 1, 1),
        ("visitor", 1, 10, 1, 1),  # u1 in Korea
        ("visitor", 2, 14, 1, 1),  # u2 in London
        ("visitor", 7, 20, 1, 1),  # s2 in the US: still Sunday evening in New York
    ]


def test_offline_channel_shares_by_segment_and_week(lake: Lake) -> None:
    rows = _rows(lake, "q2_offline_channels")
    assert rows == [
        ("age_group", "20s", "subway", 1, 0.5),
        ("age_group", "20s", "tv", 1, 0.5),
        ("age_group", "30s", "friend", 1, 0.5),
        ("age_group", "30s", "subway", 1, 0.5),
        ("all", "all", "subway", 2, 0.5),
        ("all", "all", "friend", 1, 0.25),
        ("all", "all", "tv", 1, 0.25),
        ("country", "KR", "subway", 2, 0.6667),
        ("country", "KR", "tv", 1, 0.3333),
        ("country", "US", "friend", 1, 1.0),
        ("region", "KR Busan", "subway", 1, 1.0),  # a2: 01:00 on the 23rd in Seoul, the 22nd in UTC
        ("region", "KR Seoul", "subway", 1, 0.5),
        ("region", "KR Seoul", "tv", 1, 0.5),
        ("region", "US (no region)", "friend", 1, 1.0),
        ("week", "2026-11-23", "subway", 2, 0.5),
        ("week", "2026-11-23", "friend", 1, 0.25),
        ("week", "2026-11-23", "tv", 1, 0.25),
    ]


def test_popular_products_per_group_new_and_returning(lake: Lake) -> None:
    rows = _rows(lake, "q3_popular_products")
    # (age group, gender, country, customer, level, place, product id, item, units, revenue); Bob first bought on
    # the 22nd, so he is returning
    assert rows == [
        ("20s", "male", "KR", "returning", "category", 1, None, "tops", 3, Decimal("90.00")),
        ("20s", "male", "KR", "returning", "product", 1, "10", "Linen shirt", 3, Decimal("90.00")),
        ("30s", "female", "US", "new", "category", 1, None, "tops", 2, Decimal("60.00")),
        ("30s", "female", "US", "new", "product", 1, "10", "Linen shirt", 2, Decimal("60.00")),
        ("30s", "female", "US", "returning", "category", 1, None, "outerwear", 1, Decimal("80.00")),
        ("30s", "female", "US", "returning", "product", 1, "11", "울 코트 Wool coat", 1, Decimal("80.00")),
    ]


def test_sales_rate_puts_units_and_revenue_beside_the_funnel(lake: Lake) -> None:
    rows = _rows(lake, "q4_sales_rate")
    # (day, product, category, units, revenue, orders, viewing, carting, buying sessions, view→cart, cart→purchase)
    assert rows == [
        (date(2026, 11, 23), "10", "Linen shirt", "tops", 2, Decimal("60.00"), 1, 2, 1, 1, 0.5, 1.0),
        (date(2026, 11, 24), "10", "Linen shirt", "tops", 3, Decimal("90.00"), 1, 0, 0, 0, None, None),
        (date(2026, 11, 24), "11", "울 코트 Wool coat", "outerwear", 1, Decimal("80.00"), 1, 0, 0, 0, None, None),
    ]


def test_review_ratings_distribution_worst_products_and_trend(lake: Lake) -> None:
    rows = _rows(lake, "q5_review_ratings")
    # (level, product id, item, category, reviews, average, 1★, 2★, 3★, 4★, 5★, worst place)
    assert rows == [
        ("category", None, "outerwear", "outerwear", 1, 5.0, 0, 0, 0, 0, 1, None),
        ("category", None, "tops", "tops", 3, 2.0, 1, 1, 1, 0, 0, None),
        ("product", "10", "Linen shirt", "tops", 3, 2.0, 1, 1, 1, 0, 0, 1),  # three reviews: enough to rank
        ("product", "11", "울 코트 Wool coat", "outerwear", 1, 5.0, 0, 0, 0, 0, 1, None),
        ("week", None, "2026-11-23", "all", 4, 2.75, 1, 1, 1, 0, 1, None),
    ]


def test_latest_low_rated_comments_come_first(lake: Lake) -> None:
    rows = _rows(lake, "q5_low_rated_comments")
    assert [(r[1], r[3], r[5], r[6]) for r in rows] == [
        (date(2026, 11, 24), "Linen shirt", 1, "too small"),
        (date(2026, 11, 23), "Linen shirt", 2, "seams came apart"),
    ]


@pytest.mark.parametrize("name", [q.name for q in all_queries()])
def test_each_query_keeps_to_its_days_by_its_own_partition_filters(lake: Lake, name: str) -> None:
    # GIVEN every day of the lake visible to the query, as every projected partition is to Athena
    everything = Lake(lake.filesystem, lake.root, prune=False)
    # THEN the query's own filters on year/month/day give the same answer as reading only the days asked for
    assert _rows(everything, name) == _rows(lake, name)


def test_a_table_not_yet_in_the_lake_answers_nothing(tmp_path: Path) -> None:
    empty = Lake(pafs.LocalFileSystem(), str(tmp_path))
    assert run_query(empty, query("q3_popular_products"), FIRST_DAY, LAST_DAY).num_rows == 0
