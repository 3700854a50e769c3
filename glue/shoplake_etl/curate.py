"""Curate: the tables the marketing questions read — sales, reviews, daily product statistics, the products."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake import business, curated


def sales_fact(purchases: DataFrame, products: DataFrame, customers: DataFrame) -> DataFrame:
    """One row per sold order line, with the product's category and the buyer's segment.

    Only customers' lines: the clean customers hold no test accounts, so their orders fall away here.

    Takes the clean `purchases`, `products` and `customers` (see `clean`); keeps the sold statuses, and
    gives the `sales_fact` columns of `shoplake.curated.COLUMNS`: `is_new_customer` is true when the
    customer's first sale is on or after the line's business date (or unknown), `category` is `unknown`
    for a product not in `products` (its `product_name` NULL), `revenue` = quantity x unit_price as
    decimal(12,2) in `currency`.
    """
    sold = purchases.where(F.col("status").isin(*[status.value for status in business.SOLD_STATUSES]))
    segment = customers.select("customer_key", "age_group", "gender", "country", "region", "first_order_date")
    return (
        sold.join(products.select("product_id", F.col("name").alias("product_name"), "category"), "product_id", "left")
        .join(segment, "customer_key", "inner")
        .select(
            "purchase_id",
            "order_id",
            "business_date",
            "ordered_at",
            "paid_at",
            "customer_key",
            "age_group",
            "gender",
            "country",
            "region",
            # New: the customer's first sale ever was on this day (unknown customers count as new).
            F.coalesce(F.col("first_order_date") >= F.col("business_date"), F.lit(True)).alias("is_new_customer"),
            "product_id",
            "product_name",
            F.coalesce("category", F.lit(business.UNKNOWN_CATEGORY)).alias("category"),
            "quantity",
            "unit_price",
            (F.col("quantity") * F.col("unit_price")).cast("decimal(12,2)").alias("revenue"),
            "currency",
        )
    )


def review_fact(reviews: DataFrame, products: DataFrame, customers: DataFrame) -> DataFrame:
    """One row per review by a customer (not a test account), with what was bought and by whom (pseudonymously).

    Reviews whose purchase is gone (`product_id` NULL) are left out. Columns: the `review_fact` columns of
    `shoplake.curated.COLUMNS`; `category` is `unknown` for a product not in `products`.
    """
    return (
        reviews.where(F.col("product_id").isNotNull())  # its purchase is gone: nothing to say what it reviews
        .join(customers.select("customer_key"), "customer_key", "left_semi")
        .join(products.select("product_id", F.col("name").alias("product_name"), "category"), "product_id", "left")
        .select(
            "review_id",
            "purchase_id",
            "business_date",
            "created_at",
            "customer_key",
            "product_id",
            "product_name",
            F.coalesce("category", F.lit(business.UNKNOWN_CATEGORY)).alias("category"),
            "rating",
            "body",
        )
    )


def daily_product_stats(sales: DataFrame, reviews: DataFrame) -> DataFrame:
    """Per business day and product: units, revenue, orders, and the day's reviews.

    `sales` and `reviews` are `sales_fact` and `review_fact`; a product with only sales or only reviews
    that day still has a row: missing counts are 0, revenue 0.00, `average_rating` NULL without reviews.
    Columns: the `daily_product_stats` columns of `shoplake.curated.COLUMNS`.
    """
    # The name rides along (one per product that day), not as a key: a product gone from `products` has none.
    sold = sales.groupBy("business_date", "product_id", "category").agg(
        F.max("product_name").alias("sold_name"),
        F.sum("quantity").alias("units"),
        F.sum("revenue").cast("decimal(14,2)").alias("revenue"),
        F.countDistinct("order_id").alias("orders"),
    )
    rated = reviews.groupBy("business_date", "product_id", "category").agg(
        F.max("product_name").alias("rated_name"),
        F.count("*").alias("reviews"),
        F.avg("rating").alias("average_rating"),
    )
    return (
        sold.join(rated, ["business_date", "product_id", "category"], "full")
        .withColumn("product_name", F.coalesce("sold_name", "rated_name"))
        .drop("sold_name", "rated_name")
        .fillna({"units": 0, "orders": 0, "reviews": 0})
        .withColumn("revenue", F.coalesce("revenue", F.lit(0).cast("decimal(14,2)")))
        .select(*[name for name, _ in curated.COLUMNS["daily_product_stats"]])
    )


def product_dim(products: DataFrame) -> DataFrame:
    """Every product as the shop lists it at the end of the day: one row per `product_id`.

    `products` is the clean `products` (see `clean.clean_products`), which the extract reads whole each
    night (`tables.SOURCE_TABLES`: not incremental), so this is the full product list, not the day's changes.
    Columns: the `product_dim` columns of `shoplake.curated.COLUMNS`; `product_name` is the shop's `name`,
    `category` the business category (`UNKNOWN_CATEGORY` when the shop's could not be mapped).
    """
    return products.select(
        "product_id",
        F.col("name").alias("product_name"),
        F.coalesce("category", F.lit(business.UNKNOWN_CATEGORY)).alias("category"),
        "price",
        "currency",
        "updated_at",
    ).select(*[name for name, _ in curated.COLUMNS["product_dim"]])
