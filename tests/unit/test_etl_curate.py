"""Curated tables and the hourly clickstream on a local SparkSession, on small hand-checked data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shoplake import curated
from shoplake_etl.clickstream_hourly import hourly_traffic
from shoplake_etl.curate import daily_product_stats, product_dim, review_fact, sales_fact

D1, D2 = date(2026, 11, 23), date(2026, 11, 24)
T = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PURCHASE_SCHEMA = (
    "purchase_id long, order_id string, customer_key string, product_id long, quantity int, "
    "unit_price decimal(10,2), currency string, status string, ordered_at timestamp, paid_at timestamp, "
    "business_date date"
)


def _frames(spark: Any) -> tuple[Any, Any, Any]:
    purchases = spark.createDataFrame(
        [(1, "o1", "alice", 10, 2, Decimal("30.00"), "USD", "paid", T, T, D1),
         (2, "o2", "alice", 11, 1, Decimal("80.00"), "USD", "delivered", T, T, D2),
         (3, "o3", "bob", 10, 1, Decimal("30.00"), "USD", "cancelled", T, None, D2),
         (4, "o4", "bob", 10, 3, Decimal("30.00"), "USD", "paid", T, T, D2),
         (5, "o5", "staff", 10, 9, Decimal("30.00"), "USD", "paid", T, T, D2)],
        PURCHASE_SCHEMA,
    )  # fmt: skip
    products = spark.createDataFrame(
        [(10, "Linen shirt", "tops"), (11, "Wool coat", "outerwear")], "product_id long, name string, category string"
    )
    customers = spark.createDataFrame(
        [("alice", "30s", "female", "US", "Ohio", D1), ("bob", "20s", "male", "KR", "서울", D2)],
        "customer_key string, age_group string, gender string, country string, region string, first_order_date date",
    )
    return purchases, products, customers


REVIEW_SCHEMA = (
    "review_id long, purchase_id long, product_id long, customer_key string, business_date date, "
    "created_at timestamp, rating int, body string"
)


def day_two_reviews(spark: Any, products: Any, customers: Any) -> Any:
    """Two reviews written on day two: 5 stars for purchase 4, 3 stars for purchase 1 (both tops)."""
    reviews = spark.createDataFrame(
        [(100, 4, 10, "bob", D2, T, 5, "x"), (101, 1, 10, "alice", D2, T, 3, "y")],
        REVIEW_SCHEMA,
    )
    return review_fact(reviews, products, customers)


def test_sales_are_sold_lines_with_segment_and_new_or_returning(spark: Any) -> None:
    purchases, products, customers = _frames(spark)
    rows = {r["purchase_id"]: r for r in sales_fact(purchases, products, customers).collect()}
    assert set(rows) == {1, 2, 4}  # the cancelled line is no sale, and the test account's line no customer's
    assert (rows[1]["is_new_customer"], rows[2]["is_new_customer"], rows[4]["is_new_customer"]) == (True, False, True)
    assert (rows[4]["revenue"], rows[4]["age_group"], rows[4]["category"]) == (Decimal("90.00"), "20s", "tops")


def test_reviews_carry_the_product_and_buyer_and_leave_test_accounts_out(spark: Any) -> None:
    _, products, customers = _frames(spark)
    reviews = spark.createDataFrame(
        [(100, 1, 10, "alice", D1, T, 4, "good"), (101, 999, None, None, D1, T, 1, "no such purchase"),
         (102, 5, 10, "staff", D1, T, 1, "load test")],
        REVIEW_SCHEMA,
    )  # fmt: skip
    (row,) = review_fact(reviews, products, customers).collect()
    assert (row["review_id"], row["product_id"], row["customer_key"], row["category"]) == (100, 10, "alice", "tops")


def test_daily_product_statistics_add_up(spark: Any) -> None:
    purchases, products, customers = _frames(spark)
    sales = sales_fact(purchases, products, customers)
    reviews = day_two_reviews(spark, products, customers)
    stats = {(r["business_date"], r["product_id"]): r for r in daily_product_stats(sales, reviews).collect()}
    tops_d2 = stats[(D2, 10)]
    assert (tops_d2["units"], tops_d2["revenue"], tops_d2["orders"]) == (3, Decimal("90.00"), 1)
    assert (tops_d2["reviews"], tops_d2["average_rating"]) == (2, 4.0)
    assert stats[(D1, 10)]["units"] == 2 and stats[(D2, 11)]["revenue"] == Decimal("80.00")


EVENT_SCHEMA = (
    "event_id string, session_id string, user_id string, event_type string, event_time timestamp, is_bot boolean"
)


def test_hourly_traffic_counts_people_not_crawlers(spark: Any) -> None:
    h5, h6 = datetime(2026, 11, 24, 5, 10, tzinfo=UTC), datetime(2026, 11, 24, 6, 1, tzinfo=UTC)
    events = spark.createDataFrame(
        [("e1", "s1", "u1", "page_view", h5, False), ("e2", "s1", "u1", "product_view", h5, False),
         ("e3", "s2", None, "page_view", h5, False), ("e4", "s3", "u1", "search", h5, False),
         ("e5", "bot", None, "page_view", h5, True), ("e6", "s4", None, "page_view", h6, False)],
        EVENT_SCHEMA,
    )  # fmt: skip
    rows = {r["hour"].hour: r for r in hourly_traffic(events).collect()}
    assert (rows[5]["visitors"], rows[5]["sessions"], rows[5]["page_views"]) == (2, 3, 3)
    assert (rows[6]["visitors"], rows[6]["sessions"], rows[6]["page_views"]) == (1, 1, 1)


def test_hourly_traffic_counts_an_event_delivered_twice_once(spark: Any) -> None:
    # GIVEN page views in the lake twice under one event_id (a producer resend, a redrive run again),
    # one of them once more with a later time, as a resend that was stamped again would be
    h5, later = datetime(2026, 11, 24, 5, 10, tzinfo=UTC), datetime(2026, 11, 24, 6, 2, tzinfo=UTC)
    events = spark.createDataFrame(
        [("e1", "s1", "u1", "page_view", h5, False), ("e1", "s1", "u1", "page_view", h5, False),
         ("e2", "s2", None, "page_view", h5, False), ("e2", "s2", None, "page_view", h5, False),
         ("e2", "s2", None, "page_view", later, False), ("e3", "s2", None, "product_view", h5, False)],
        EVENT_SCHEMA,
    ).repartition(3)  # fmt: skip
    # WHEN the hours are counted
    rows = {r["hour"].hour: r for r in hourly_traffic(events).collect()}
    # THEN each event counts once, in the hour it first happened
    assert set(rows) == {5}
    assert (rows[5]["visitors"], rows[5]["sessions"], rows[5]["page_views"]) == (2, 2, 3)


def test_the_product_dimension_is_every_product_named_in_its_business_category(spark: Any) -> None:
    # GIVEN the clean products: one sold, one never sold, one whose category could not be mapped
    products = spark.createDataFrame(
        [(10, "Linen shirt", "tops", Decimal("30.00"), "USD", T),
         (11, "Wool coat", "outerwear", Decimal("80.00"), "USD", T),
         (12, "Mystery box", None, Decimal("5.00"), "KRW", T)],
        "product_id long, name string, category string, price decimal(10,2), currency string, updated_at timestamp",
    )  # fmt: skip
    # WHEN the day's product dimension is curated
    frame = product_dim(products)
    # THEN it has the declared columns and one row per product, sold or not, named as the shop lists it
    assert frame.columns == [name for name, _ in curated.COLUMNS["product_dim"]]
    rows = {r["product_id"]: (r["product_name"], r["category"], r["price"], r["currency"]) for r in frame.collect()}
    assert rows == {
        10: ("Linen shirt", "tops", Decimal("30.00"), "USD"),
        11: ("Wool coat", "outerwear", Decimal("80.00"), "USD"),
        12: ("Mystery box", "unknown", Decimal("5.00"), "KRW"),
    }
