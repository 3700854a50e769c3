"""The nightly ETL's clean step on a local SparkSession, on small hand-checked data."""

from __future__ import annotations

import hashlib
import random
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake import business
from shoplake_etl.clean import (
    CATEGORY_SYNONYMS,
    clean_customers,
    clean_products,
    clean_purchases,
    clean_reviews,
    latest_version,
    standard_category,
    stripped,
)
from shoplake_etl.extract import pseudonymise

T = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Every character Python's str.strip() removes: tabs, line breaks, no-break, ideographic and other spaces.
WHITESPACE = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


def _rows(frame: Any, order: str) -> list[dict[str, Any]]:
    return [row.asDict() for row in frame.orderBy(order).collect()]


def test_the_latest_version_of_each_key_is_kept(spark: Any) -> None:
    frame = spark.createDataFrame(
        [(1, "old", datetime(2026, 11, 1, tzinfo=UTC)), (1, "new", datetime(2026, 11, 2, tzinfo=UTC)),
         (2, "only", datetime(2026, 11, 1, tzinfo=UTC))],
        "id long, value string, updated_at timestamp",
    )  # fmt: skip
    assert [(r["id"], r["value"]) for r in _rows(latest_version(frame, "id"), "id")] == [(1, "new"), (2, "only")]


def test_customers_get_their_segment_and_test_accounts_go(spark: Any) -> None:
    frame = spark.createDataFrame(
        [("a", 2010, "female", " us ", "Ohio", False, T, T, T), ("b", 1996, None, "KR", "서울", False, T, T, None),
         ("c", 1960, "MALE", "CA", None, False, T, T, None), ("d", None, "other", "mx", None, False, T, T, None),
         ("staff", 1990, "male", "KR", None, True, T, T, None)],
        "customer_key string, birth_year int, gender string, country string, region string, "
        "is_test_account boolean, signed_up_at timestamp, updated_at timestamp, first_ordered_at timestamp",
    )  # fmt: skip
    rows = _rows(clean_customers(frame, date(2026, 11, 24)), "customer_key")
    assert [(r["customer_key"], r["age_group"], r["gender"], r["country"]) for r in rows] == [
        ("a", "under_20", "female", "US"),
        ("b", "30s", "undisclosed", "KR"),
        ("c", "60_plus", "male", "CA"),
        ("d", None, "other", "MX"),
    ]
    assert rows[0]["signed_up_on"] == date(2026, 11, 23)
    assert (rows[0]["first_order_date"], rows[1]["first_order_date"]) == (date(2026, 11, 23), None)


def _products(spark: Any, *categories: str) -> Any:
    return spark.createDataFrame(
        [(number, "Shirt", category, "15.5", "usd", T) for number, category in enumerate(categories, start=1)],
        "product_id long, name string, category string, price string, currency string, updated_at timestamp",
    )


def test_categories_are_standardised_and_one_that_cannot_be_is_unknown(spark: Any) -> None:
    # GIVEN products as sellers spell their categories, one of them no category of the shop's
    frame = spark.createDataFrame(
        [
            (1, "Tee", "T-Shirts ", "39.90", "usd", T),
            (2, "Coat", "Jackets", "120", "USD", T),
            (3, "Scarf", "scarves", "15.5", "USD", T),
        ],
        "product_id long, name string, category string, price string, currency string, updated_at timestamp",
    )
    # WHEN they are cleaned
    rows = _rows(clean_products(frame), "product_id")
    # THEN the spellings are the shop's categories, and the one it cannot map is unknown, not kept as it came
    assert [(r["name"], r["category"], r["price"], r["currency"]) for r in rows] == [
        ("Tee", "tops", Decimal("39.90"), "USD"),
        ("Coat", "outerwear", Decimal("120.00"), "USD"),
        ("Scarf", business.UNKNOWN_CATEGORY, Decimal("15.50"), "USD"),
    ]


def test_a_category_with_any_whitespace_around_it_is_mapped(spark: Any) -> None:
    # GIVEN categories typed with tabs, line breaks, no-break or ideographic spaces around them
    labels = ["Tops\t", "tops\n", "\u00a0tops", "\r\nT-Shirts\r\n", "\u3000 TOPS \u2028"]
    labels += [f"{space}Tops{space}" for space in WHITESPACE]
    frame = spark.createDataFrame([(label,) for label in labels], "category string")
    # WHEN standardised THEN each is the category it names
    rows = frame.select(standard_category(F.col("category")).alias("category")).collect()
    assert [row["category"] for row in rows] == ["tops"] * len(labels)


def test_text_is_stripped_at_both_ends_exactly_as_python_strips_it(spark: Any) -> None:
    # GIVEN text with whitespace of every kind, and characters that merely look like it, anywhere in it
    rng = random.Random(20261124)  # noqa: S311 - test data, not secrets
    alphabet = WHITESPACE + "aZ-\u200b\ufeff\u180e"  # zero-width space, BOM, Mongolian separator: not whitespace
    texts = ["", *WHITESPACE, *("".join(rng.choices(alphabet, k=rng.randint(1, 8))) for _ in range(300))]
    frame = spark.createDataFrame([(i, text) for i, text in enumerate(texts)] + [(len(texts), None)], "i int, t string")
    # WHEN stripped THEN each is what Python's str.strip() makes of it, and NULL stays NULL
    rows = frame.select("i", stripped("t").alias("t")).orderBy("i").collect()
    assert [row["t"] for row in rows] == [text.strip() for text in texts] + [None]


def test_every_sellers_spelling_stands_for_a_category_of_the_business() -> None:
    assert set(CATEGORY_SYNONYMS.values()) <= set(business.CATEGORIES)
    assert not set(CATEGORY_SYNONYMS) & {*business.CATEGORIES, business.UNKNOWN_CATEGORY}


def test_a_category_added_to_the_business_is_kept_from_then_on(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a product of a category the shop did not have
    frame = _products(spark, " Swimwear", "tops")
    assert [r["category"] for r in _rows(clean_products(frame), "product_id")] == [business.UNKNOWN_CATEGORY, "tops"]
    # WHEN the category is added to the business's, and only there
    monkeypatch.setattr(business, "CATEGORIES", (*business.CATEGORIES, "swimwear"))
    # THEN the clean step keeps it
    assert [r["category"] for r in _rows(clean_products(frame), "product_id")] == ["swimwear", "tops"]


def test_purchases_fall_on_their_korean_business_day(spark: Any) -> None:
    frame = spark.createDataFrame(
        [(1, "o1", "k", 10, 2, "39.90", "USD", "\tPAID\n", datetime(2026, 11, 23, 16, 30, tzinfo=UTC), None, T),
         (2, "o1", "k", 11, 1, "10", "USD", "pending", datetime(2026, 11, 23, 14, 59, 59, tzinfo=UTC), None, T)],
        "purchase_id long, order_id string, customer_key string, product_id long, quantity int, unit_price string, "
        "currency string, status string, ordered_at timestamp, paid_at timestamp, updated_at timestamp",
    )  # fmt: skip
    rows = _rows(clean_purchases(frame), "purchase_id")
    assert [(r["business_date"], r["status"]) for r in rows] == [
        (date(2026, 11, 24), "paid"),
        (date(2026, 11, 23), "pending"),
    ]


def test_empty_review_text_is_no_text(spark: Any) -> None:
    frame = spark.createDataFrame(
        [(1, 10, 7, "k", 5, "  Fits well\n", T, T), (2, 11, 7, "k", 2, " \u00a0\r\n", T, T)],
        "review_id long, purchase_id long, product_id long, customer_key string, rating int, body string, "
        "created_at timestamp, updated_at timestamp",
    )
    assert [r["body"] for r in _rows(clean_reviews(frame), "review_id")] == ["Fits well", None]


def test_customer_ids_leave_only_as_a_stable_salted_hash(spark: Any) -> None:
    frame = spark.createDataFrame([(42, "paid")], "customer_id long, status string")
    (row,) = pseudonymise(frame, "pepper").collect()
    assert "customer_id" not in row.asDict()
    assert row["customer_key"] == hashlib.sha256(b"pepper42").hexdigest()
