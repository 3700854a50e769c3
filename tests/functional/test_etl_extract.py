"""The extract step reads the real shop database over JDBC: needed columns only, its day's window, no personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

import pytest

from shop.migrate import apply_migrations
from shoplake_etl.extract import pseudonymise, read_table
from shoplake_etl.steps import day_window, run_clean, run_extract
from shoplake_etl.tables import SOURCE_TABLES
from tests.conftest import JDBC_DRIVER

TABLES = {t.name: t for t in SOURCE_TABLES}


@pytest.fixture
def shop(database: Any, postgres_dsn: str) -> tuple[Any, str]:
    """The shop schema with a little history, and the JDBC URL of its schema."""
    url = urlparse(postgres_dsn)
    if not url.hostname or not JDBC_DRIVER.exists():
        pytest.skip("JDBC needs a PostgreSQL on TCP and the Debian JDBC driver (make test installs it)")
    apply_migrations(database)
    schema = database.execute("SELECT current_schema()").fetchone()[0]
    customer = database.execute(
        "INSERT INTO customer (birth_year, gender, country) VALUES (1990, 'female', 'US') RETURNING customer_id"
    ).fetchone()[0]
    database.execute(
        "INSERT INTO customer_contact (customer_id, email, password_hash, display_name) "
        "VALUES (%s, 'jane@example.com', 'x', 'Jane')",
        (customer,),
    )
    product = database.execute(
        "INSERT INTO product (seller_id, name, category, price) VALUES (%s, 'Shirt', 'tops', 30) RETURNING product_id",
        (customer,),
    ).fetchone()[0]
    for updated in ("2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z"):
        database.execute(
            "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price, ordered_at) "
            "VALUES (%s, %s, %s, 1, 30, %s)",
            (uuid.uuid4(), customer, product, updated),
        )
    database.execute("ALTER TABLE purchase DISABLE TRIGGER purchase_updated_at")
    database.execute("UPDATE purchase SET updated_at = ordered_at")
    database.execute("ALTER TABLE customer DISABLE TRIGGER customer_updated_at")
    database.execute("UPDATE customer SET updated_at = '2026-11-01T00:00:00Z'")
    database.execute("ALTER TABLE product DISABLE TRIGGER product_updated_at")
    database.execute("UPDATE product SET updated_at = '2026-11-01T00:00:00Z'")
    jdbc = f"jdbc:postgresql://{url.hostname}:{url.port or 5432}{url.path}?currentSchema={schema}"
    return database, jdbc


def test_incremental_extract_reads_only_the_window_and_no_personal_data(spark: Any, shop: tuple[Any, str]) -> None:
    _, jdbc = shop
    properties = {"user": "postgres", "driver": "org.postgresql.Driver"}
    since, until = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)
    purchases = pseudonymise(read_table(spark, jdbc, properties, TABLES["purchase"], since, until), "pepper")
    rows = purchases.collect()
    assert len(rows) == 1
    assert rows[0]["updated_at"].isoformat().startswith("2026-11-23T10:00")
    assert "customer_id" not in purchases.columns and "customer_key" in purchases.columns
    customers = pseudonymise(read_table(spark, jdbc, properties, TABLES["customer"], None, until), "pepper")
    assert set(customers.columns) == {
        "customer_key", "birth_year", "gender", "country", "region", "is_test_account", "signed_up_at", "updated_at",
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
    properties = {"user": "postgres", "driver": "org.postgresql.Driver"}
    raw = run_extract(spark, jdbc, properties, lake_root=lake, run_date=run_date, salt="pepper")
    assert raw == {"customer": 2, "product": 1, "purchase": 1, "review": 0}
    cleaned = run_clean(spark, lake, run_date)
    assert cleaned == {"customer": 1, "product": 1, "purchase": 1, "review": 0}  # the test account is gone
    partition = tmp_path / "clean" / "purchase" / "year=2026" / "month=11" / "day=23"
    (purchase,) = spark.read.parquet(str(partition)).collect()
    assert purchase["business_date"] == date(2026, 11, 23)
    # re-running the day replaces its partitions: no duplicates
    assert run_extract(spark, jdbc, properties, lake_root=lake, run_date=run_date, salt="pepper") == raw
    assert spark.read.parquet((tmp_path / "raw" / "purchase").as_uri()).count() == 1


def test_a_business_day_is_seoul_midnight_to_midnight() -> None:
    since, until = day_window(date(2026, 11, 23))
    assert (since.isoformat(), until.isoformat()) == ("2026-11-22T15:00:00+00:00", "2026-11-23T15:00:00+00:00")
