"""Clean: one latest version per key, UTC times, the Korean business date, standard categories, no test accounts."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake import business

# The same age groups the surveys use, so that survey answers and sales meet by segment.
AGE_GROUPS = ((20, "under_20"), (30, "20s"), (40, "30s"), (50, "40s"), (60, "50s"))
OLDEST_GROUP = "60_plus"
# Sellers' other spellings of `business.CATEGORIES` (a test holds every one to a category there).
CATEGORY_SYNONYMS = {
    "top": "tops", "t-shirts": "tops", "shirts": "tops", "blouses": "tops",
    "bottom": "bottoms", "pants": "bottoms", "trousers": "bottoms", "skirts": "bottoms", "jeans": "bottoms",
    "dress": "dresses", "coats": "outerwear", "jackets": "outerwear", "coat": "outerwear", "jacket": "outerwear",
    "shoe": "shoes", "sneakers": "shoes", "bag": "bags", "accessory": "accessories",
}  # fmt: skip
# Whitespace as Python's str.strip() reads it: Unicode's White_Space (tabs, line breaks, no-break and
# ideographic spaces...) and the separators U+001C to U+001F. Spark's own trim removes only U+0020.
_WHITESPACE = r"[\p{IsWhite_Space}\x1c-\x1f]"
_AT_EITHER_END = rf"\A{_WHITESPACE}+|{_WHITESPACE}+\z"


def latest_version(frame: DataFrame, key: str) -> DataFrame:
    """One row per key: the one updated last (ties broken by the row's content, so reruns agree).

    `frame` needs `key` and `updated_at`; the columns are kept as they are. NULL `updated_at` sorts last.
    """
    order = Window.partitionBy(key).orderBy(F.col("updated_at").desc(), *[F.col(c).desc() for c in frame.columns])
    return frame.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")


def stripped(column: Column | str) -> Column:
    """A text column (or column name) without whitespace at either end, as Python's `str.strip()` leaves it.

    A tab, a line break, a no-break or an ideographic space around a value go, as plain spaces do
    (Unicode's `White_Space` property, as java.util.regex reads it for Spark's `regexp_replace`). NULL stays NULL.
    """
    return F.regexp_replace(column, _AT_EITHER_END, "")


def standard_category(column: Column) -> Column:
    """A category column `stripped`, lower-cased and mapped through `CATEGORY_SYNONYMS` (`" T-Shirts"` -> `tops`).

    A label that is neither one of `business.CATEGORIES` (as they are when the night runs) nor a synonym
    of one becomes `business.UNKNOWN_CATEGORY`: one odd product never fails the night.
    """
    label = F.lower(stripped(column))
    mapping = F.create_map(*[F.lit(x) for pair in CATEGORY_SYNONYMS.items() for x in pair])
    known = F.when(label.isin(*business.CATEGORIES), label).otherwise(mapping[label])
    return F.coalesce(known, F.lit(business.UNKNOWN_CATEGORY))


def business_date(column: Column) -> Column:
    """The shop's day: the date in the business time zone (`business.TIME_ZONE`) of a UTC timestamp column."""
    return F.to_date(F.from_utc_timestamp(column, business.TIME_ZONE.key))


def clean_customers(frame: DataFrame, run_date: date) -> DataFrame:
    """The extracted customers as segments: latest version per `customer_key`, test accounts left out.

    Columns: `customer_key`, `age_group` (from `run_date.year - birth_year`, so by year only;
    `under_20` ... `60_plus`, NULL without a birth year), `gender` (lower-case, `undisclosed` when NULL),
    `country` (upper-case), `region`, `signed_up_on` and `first_order_date` (business dates), `updated_at`.
    A customer whose `is_test_account` is NULL is left out with the test accounts.
    """
    age = F.lit(run_date.year) - F.col("birth_year")
    group = F.when(F.col("birth_year").isNull(), F.lit(None))
    for below, label in AGE_GROUPS:
        group = group.when(age < below, F.lit(label))
    return (
        latest_version(frame, "customer_key")
        .where(~F.col("is_test_account"))
        .select(
            "customer_key",
            group.otherwise(F.lit(OLDEST_GROUP)).alias("age_group"),
            F.coalesce(F.lower(stripped("gender")), F.lit("undisclosed")).alias("gender"),
            F.upper(stripped("country")).alias("country"),
            stripped("region").alias("region"),
            business_date(F.col("signed_up_at")).alias("signed_up_on"),
            business_date(F.col("first_ordered_at")).alias("first_order_date"),
            "updated_at",
        )
    )


def clean_products(frame: DataFrame) -> DataFrame:
    """The extracted products: latest version per `product_id`, category standardised, price as decimal(10,2).

    Columns: `product_id`, `name` (as the shop lists it), `category`, `price`, `currency` (upper-case ISO 4217
    code), `updated_at`.
    """
    return latest_version(frame, "product_id").select(
        "product_id",
        "name",
        standard_category(F.col("category")).alias("category"),
        F.col("price").cast("decimal(10,2)").alias("price"),
        F.upper("currency").alias("currency"),
        "updated_at",
    )


def clean_purchases(frame: DataFrame) -> DataFrame:
    """The extracted order lines: latest version per `purchase_id`, with their business date.

    Columns: `purchase_id`, `order_id`, `customer_key`, `product_id`, `quantity` (int), `unit_price`
    (decimal(10,2), in `currency`), `currency` (upper-case), `status` (lower-case), `ordered_at`, `paid_at`,
    `business_date` (the Korean date of `ordered_at`), `updated_at`.
    """
    return latest_version(frame, "purchase_id").select(
        "purchase_id",
        "order_id",
        "customer_key",
        "product_id",
        F.col("quantity").cast("int").alias("quantity"),
        F.col("unit_price").cast("decimal(10,2)").alias("unit_price"),
        F.upper("currency").alias("currency"),
        F.lower(stripped("status")).alias("status"),
        "ordered_at",
        "paid_at",
        business_date(F.col("ordered_at")).alias("business_date"),
        "updated_at",
    )


def clean_reviews(frame: DataFrame) -> DataFrame:
    """The extracted reviews: latest version per `review_id`, blank bodies as NULL.

    Columns: `review_id`, `purchase_id`, `product_id`, `customer_key`, `rating` (int), `body` (`stripped`),
    `created_at`, `business_date` (the Korean date of `created_at`), `updated_at`.
    """
    body = stripped("body")
    return latest_version(frame, "review_id").select(
        "review_id",
        "purchase_id",
        "product_id",
        "customer_key",
        F.col("rating").cast("int").alias("rating"),
        F.when(body == "", None).otherwise(body).alias("body"),
        "created_at",
        business_date(F.col("created_at")).alias("business_date"),
        "updated_at",
    )
