"""The extract step reads the real shop database over JDBC: needed columns only, its day's window, no personal data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shoplake_etl.extract import pseudonymise, read_table
from shoplake_etl.steps import day_window, run_clean, run_extract
from shoplake_etl.tables import ETL_DATABASE_ROLE, SOURCE_TABLES

TABLES = {t.name: t for t in SOURCE_TABLES}


def test_incremental_extract_reads_only_the_window_and_no_personal_data(spark: Any, shop: tuple[Any, str]) -> None:
    _, jdbc = shop
    properties = {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}
    since, until = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)
    purchases = pseudonymise(read_table(spark, jdbc, properties, TABLES["purchase"], since, until), "pepper")
    rows = purchases.collect()
    assert len(rows) == 1
    assert rows[0]["updated_at"].isoformat().startswith("2026-11-23T10:00")
    assert "customer_id" not in purchases.columns and "customer_key" in purchases.columns
    customers = pseudonymise(read_table(spark, jdbc, properties, TABLES["customer"], None, until), "pepper")
    assert set(customers.columns) == {
        "customer_key", "birth_year", "gender", "country", "region", "is_test_account", "signed_up_at", "updated_at",
        "first_ordered_at",
    }  # fmt: skip
    # the same customer has the same key in both tables: purchases still join their segment
    assert customers.collect()[0]["customer_key"] == rows[0]["customer_key"]


def test_a_day_is_extracted_to_raw_and_cleaned_into_its_partition(spark: Any, shop: tuple[Any, str], tmp_path) -> None:
    database, jdbc = shop
    database.execute("ALTER TABLE customer DISABLE TRIGGER customer_updated_at")
    database.execute(
        "INSERT INTO customer (birth_year, country, is_test_account, updated_at) "
        "VALUES (1990, 'KR', true, '2026-11-01')"
    )
    lake = tmp_path.as_uri() + "/"
    run_date = date(2026, 11, 23)  # in Seoul: 2026-11-22T15:00Z to 2026-11-23T15:00Z
    properties = {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}
    raw = run_extract(spark, jdbc, properties, lake_root=lake, run_date=run_date, salt="pepper")
    assert raw == {"customer": 2, "product": 1, "purchase": 1, "review": 0}
    cleaned = run_clean(spark, lake, run_date)
    # the test account is gone; the product's category is one of the shop's
    assert cleaned == {"customer": 1, "product": 1, "purchase": 1, "review": 0, "products_of_unknown_category": 0}
    partition = tmp_path / "clean" / "purchase" / "year=2026" / "month=11" / "day=23"
    (purchase,) = spark.read.parquet(str(partition)).collect()
    assert purchase["business_date"] == date(2026, 11, 23)
    # re-running the day replaces its partitions: no duplicates
    assert run_extract(spark, jdbc, properties, lake_root=lake, run_date=run_date, salt="pepper") == raw
    assert spark.read.parquet((tmp_path / "raw" / "purchase").as_uri()).count() == 1


def test_a_business_day_is_seoul_midnight_to_midnight() -> None:
    since, until = day_window(date(2026, 11, 23))
    assert (since.isoformat(), until.isoformat()) == ("2026-11-22T15:00:00+00:00", "2026-11-23T15:00:00+00:00")


def test_a_review_brings_what_was_bought_and_by_whom_from_an_earlier_day(spark: Any, shop: tuple[Any, str]) -> None:
    # GIVEN a review written on the 23rd of a purchase made (and last changed) on the 22nd
    database, jdbc = shop
    purchase_id = database.execute("SELECT min(purchase_id) FROM purchase").fetchone()[0]
    database.execute("UPDATE purchase SET status = 'paid', paid_at = ordered_at WHERE purchase_id = %s", (purchase_id,))
    database.execute("UPDATE purchase SET updated_at = ordered_at")
    database.execute(
        "INSERT INTO review (purchase_id, rating, body, created_at, updated_at) "
        "VALUES (%s, 2, 'Shrank', '2026-11-23T11:00Z', '2026-11-23T11:00Z')",
        (purchase_id,),
    )
    properties = {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}
    since, until = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)
    # WHEN the 23rd's reviews and customers are extracted
    (review,) = pseudonymise(read_table(spark, jdbc, properties, TABLES["review"], since, until), "pepper").collect()
    (customer,) = pseudonymise(read_table(spark, jdbc, properties, TABLES["customer"], None, until), "pepper").collect()
    # THEN the review names the product and the buyer's key, and the customer's first sale is known
    product_id = database.execute("SELECT product_id FROM purchase WHERE purchase_id = %s", (purchase_id,)).fetchone()
    assert (review["product_id"], review["customer_key"]) == (product_id[0], customer["customer_key"])
    assert customer["first_ordered_at"].isoformat().startswith("2026-11-22T10:00")


def test_a_catching_up_extract_reads_every_day_since_the_last_success(
    spark: Any, shop: tuple[Any, str], tmp_path
) -> None:
    # GIVEN order lines changed on the 22nd, 23rd and 24th (10:00 UTC), and the 22nd's night failed
    _, jdbc = shop
    lake = tmp_path.as_uri() + "/"
    properties = {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}
    # WHEN the 23rd's night extracts from the 22nd, and a re-run of the 23rd extracts its own day
    caught_up = run_extract(
        spark, jdbc, properties, lake_root=lake, run_date=date(2026, 11, 23), salt="pepper",
        tables=["purchase"], since_date=date(2026, 11, 22),
    )  # fmt: skip
    one_day = run_extract(
        spark, jdbc, properties, lake_root=lake, run_date=date(2026, 11, 23), salt="pepper", tables=["purchase"]
    )
    # THEN the first holds both days' changes under the 23rd, the second the 23rd's alone
    assert (caught_up, one_day) == ({"purchase": 2}, {"purchase": 1})
