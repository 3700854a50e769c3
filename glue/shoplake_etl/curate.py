"""Curate: the tables the marketing questions read — sales, reviews, daily product statistics."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake import business


def sales_fact(purchases: DataFrame, products: DataFrame, customers: DataFrame) -> DataFrame:
    """One row per sold order line, with the product's category and the buyer's segment.

    Only customers' lines: the clean customers hold no test accounts, so their orders fall away here.
    """
    sold = purchases.where(F.col("status").isin(*[status.value for status in business.SOLD_STATUSES]))
    segment = customers.select("customer_key", "age_group", "gender", "country", "region", "first_order_date")
    return (
        sold.join(products.select("product_id", "category"), "product_id", "left")
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
            F.coalesce("category", F.lit(business.UNKNOWN_CATEGORY)).alias("category"),
            "quantity",
            "unit_price",
            (F.col("quantity") * F.col("unit_price")).cast("decimal(12,2)").alias("revenue"),
            "currency",
        )
    )


def review_fact(reviews: DataFrame, products: DataFrame, customers: DataFrame) -> DataFrame:
    """One row per review by a customer (not a test account), with what was bought and by whom (pseudonymously)."""
    return (
        reviews.where(F.col("product_id").isNotNull())  # its purchase is gone: nothing to say what it reviews
        .join(customers.select("customer_key"), "customer_key", "left_semi")
        .join(products.select("product_id", "category"), "product_id", "left")
        .select(
            "review_id",
            "purchase_id",
            "business_date",
            "created_at",
            "customer_key",
            "product_id",
            F.coalesce("category", F.lit(business.UNKNOWN_CATEGORY)).alias("category"),
            "rating",
            "body",
        )
    )


def daily_product_stats(sales: DataFrame, reviews: DataFrame) -> DataFrame:
    """Per business day and product: units, revenue, orders, and the day's reviews."""
    sold = sales.groupBy("business_date", "product_id", "category").agg(
        F.sum("quantity").alias("units"),
        F.sum("revenue").cast("decimal(14,2)").alias("revenue"),
        F.countDistinct("order_id").alias("orders"),
    )
    rated = reviews.groupBy("business_date", "product_id", "category").agg(
        F.count("*").alias("reviews"), F.avg("rating").alias("average_rating")
    )
    return (
        sold.join(rated, ["business_date", "product_id", "category"], "full")
        .fillna({"units": 0, "orders": 0, "reviews": 0})
        .withColumn("revenue", F.coalesce("revenue", F.lit(0).cast("decimal(14,2)")))
    )
