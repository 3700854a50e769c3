"""A real PostgreSQL for the tests that need one (this machine's server, or an embedded one: local_stack.postgres),
the local Slack, and the local stack posting to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest

from local_stack.postgres import shop_postgres
from local_stack.slack_sink import SlackSink
from local_stack.spark import JDBC_DRIVER
from local_stack.stack import LocalStack
from shop.migrate import apply_migrations

# The server this machine (and CI, on the same machine) starts before a session.
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """This machine's PostgreSQL (database `test`), or an embedded one on a loopback port."""
    with shop_postgres(dsn=os.environ.get("SHOPLAKE_TEST_DSN", LOCAL_DSN)) as dsn:
        yield dsn


@pytest.fixture
def database(postgres_dsn: str) -> Iterator[Any]:
    """A connection whose search_path is a fresh schema, dropped afterwards: tests never see each other."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        connection.execute(f'SET search_path TO "{schema}"')
        try:
            yield connection
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def shop(database: Any, postgres_dsn: str) -> tuple[Any, str]:
    """The shop schema with a little history, and the JDBC URL of its schema."""
    url = urlparse(postgres_dsn)
    if not JDBC_DRIVER.exists():
        pytest.skip("JDBC needs the Debian PostgreSQL JDBC driver (make test installs it)")
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


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    """The local Slack on loopback (a server: the tests that take it are marked `server`)."""
    with SlackSink() as running:
        yield running


@pytest.fixture
def stack(sink: SlackSink, tmp_path: Path) -> Iterator[LocalStack]:
    """The whole template on moto, run in-process (no moto server), posting to `sink`; its files in `tmp_path`."""
    with LocalStack(slack_sink=sink, server=False, work_dir=tmp_path) as running:
        yield running
