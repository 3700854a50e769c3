"""The shop's schema, on a real PostgreSQL: migrations apply once, and the rules the ETL relies on hold."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import psycopg.sql
import pytest

from shop.migrate import MIGRATIONS, apply_migrations


@pytest.fixture
def shop(database: Any) -> Any:
    apply_migrations(database)
    return database


def _customer(db: Any, **fields: Any) -> int:
    values = {"country": "US", "birth_year": 1990, "gender": "female", **fields}
    query = psycopg.sql.SQL("INSERT INTO customer ({}) VALUES ({}) RETURNING customer_id").format(
        psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, values)),
        psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() * len(values)),
    )
    return int(db.execute(query, list(values.values())).fetchone()[0])


def _product(db: Any, seller: int) -> int:
    return int(
        db.execute(
            "INSERT INTO product (seller_id, name, category, price, stock) "
            "VALUES (%s, 'Linen shirt', 'tops', 39.90, 5) RETURNING product_id",
            (seller,),
        ).fetchone()[0]
    )


def test_migrations_apply_once_in_order(database: Any) -> None:
    # GIVEN every migration the repository holds, numbered from 0001 without a gap
    shipped = sorted(path.stem for path in MIGRATIONS.glob("*.sql"))
    assert [int(name[:4]) for name in shipped] == list(range(1, len(shipped) + 1))
    # WHEN they are applied twice THEN all apply the first time, in order, and none the second
    assert apply_migrations(database) == shipped
    assert apply_migrations(database) == []


def test_an_order_line_links_customer_product_and_review(shop: Any) -> None:
    buyer, seller = _customer(shop), _customer(shop, is_seller=True)
    product = _product(shop, seller)
    purchase = shop.execute(
        "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price, status, paid_at) "
        "VALUES (%s, %s, %s, 2, 39.90, 'paid', now()) RETURNING purchase_id",
        (uuid.uuid4(), buyer, product),
    ).fetchone()[0]
    shop.execute("INSERT INTO review (purchase_id, rating, body) VALUES (%s, 5, 'Fits well')", (purchase,))
    row = shop.execute(
        "SELECT c.country, p.category, (l.quantity * l.unit_price)::float8, r.rating FROM review r "
        "JOIN purchase l USING (purchase_id) JOIN product p USING (product_id) "
        "JOIN customer c ON c.customer_id = l.customer_id"
    ).fetchone()
    assert row == ("US", "tops", pytest.approx(79.80), 5)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("INSERT INTO customer (country) VALUES ('us')", "customer_country_check"),
        ("INSERT INTO customer (country, gender) VALUES ('US', 'robot')", "customer_gender_check"),
        ("INSERT INTO customer (country, birth_year) VALUES ('US', 1850)", "customer_birth_year_check"),
    ],
)
def test_bad_customer_attributes_are_refused(shop: Any, statement: str, constraint: str) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
        shop.execute(statement)


def test_a_rating_outside_1_to_5_and_a_second_review_are_refused(shop: Any) -> None:
    buyer = _customer(shop)
    product = _product(shop, _customer(shop, is_seller=True))
    purchase = shop.execute(
        "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price) VALUES (%s, %s, %s, 1, 10) "
        "RETURNING purchase_id",
        (uuid.uuid4(), buyer, product),
    ).fetchone()[0]
    with pytest.raises(psycopg.errors.CheckViolation, match="review_rating_check"):
        shop.execute("INSERT INTO review (purchase_id, rating) VALUES (%s, 6)", (purchase,))
    shop.execute("INSERT INTO review (purchase_id, rating) VALUES (%s, 4)", (purchase,))
    with pytest.raises(psycopg.errors.UniqueViolation):
        shop.execute("INSERT INTO review (purchase_id, rating) VALUES (%s, 3)", (purchase,))


def test_a_paid_line_needs_its_paid_time_and_one_key_pays_once(shop: Any) -> None:
    buyer = _customer(shop)
    product = _product(shop, _customer(shop, is_seller=True))
    line = "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price, status, idempotency_key) "
    with pytest.raises(psycopg.errors.CheckViolation, match="purchase_check"):
        shop.execute(line + "VALUES (%s, %s, %s, 1, 10, 'paid', NULL)", (uuid.uuid4(), buyer, product))
    shop.execute(line + "VALUES (%s, %s, %s, 1, 10, 'pending', 'click-1')", (uuid.uuid4(), buyer, product))
    with pytest.raises(psycopg.errors.UniqueViolation, match="purchase_idempotency"):
        shop.execute(line + "VALUES (%s, %s, %s, 1, 10, 'pending', 'click-1')", (uuid.uuid4(), buyer, product))


def test_updated_at_moves_on_every_change_for_incremental_extracts(shop: Any) -> None:
    customer = _customer(shop)
    before = shop.execute("SELECT updated_at FROM customer WHERE customer_id = %s", (customer,)).fetchone()[0]
    shop.execute("SELECT pg_sleep(0.01)")
    shop.execute("UPDATE customer SET region = 'Ontario' WHERE customer_id = %s", (customer,))
    after = shop.execute("SELECT updated_at FROM customer WHERE customer_id = %s", (customer,)).fetchone()[0]
    assert after > before
