"""The shop's API over a real PostgreSQL schema of its own per test, in-process (no sockets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from moto import mock_aws
from psycopg_pool import ConnectionPool

from local_stack.shop import LocalShop, running_shop, shop_pool
from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.db_credentials import APP_ROLE
from shop.app.images import ImageUploads
from shop.app.passwords import fast_passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from shop.migrate import apply_migrations
from tests.functional.shop.shopping import GOOD_CARD, Recorder, customer, order_of, post_product

IMAGE_BUCKET = "shoplake-test-product-images"


@pytest.fixture
def shop_schema(database: Any) -> str:
    apply_migrations(database)
    return str(database.execute("SELECT current_schema()").fetchone()[0])


@pytest.fixture
def session(postgres_dsn: str, shop_schema: str) -> Iterator[Callable[[], psycopg.Connection[Any]]]:
    """Opens another database session on the test's schema (another task's, a crashing one's), in
    autocommit mode as the pool's; each is closed afterwards."""
    opened: list[psycopg.Connection[Any]] = []

    def connect() -> psycopg.Connection[Any]:
        opened.append(psycopg.connect(postgres_dsn, autocommit=True, options=f"-c search_path={shop_schema}"))
        return opened[-1]

    yield connect
    for connection in opened:
        connection.close()


@pytest.fixture
def pool(postgres_dsn: str, shop_schema: str) -> Iterator[ConnectionPool[Any]]:
    """The test's own view of the schema, as its owner: to arrange and inspect what the app did."""
    opened = shop_pool(postgres_dsn, shop_schema)
    yield opened
    opened.close()


@pytest.fixture
def app_pool(postgres_dsn: str, shop_schema: str) -> Iterator[ConnectionPool[Any]]:
    """The app's pool: its own role, shop_app, as in AWS, so that a grant a migration forgot fails here."""
    opened = shop_pool(postgres_dsn, shop_schema, user=APP_ROLE)
    yield opened
    opened.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def payments() -> LocalTestProvider:
    return LocalTestProvider()


@pytest.fixture
def settings() -> Settings:
    # Every TestClient request comes from one address ("testclient"): no sign-up limit in the way.
    return Settings(forwarded_hops=0, signups_per_client=10_000)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=IMAGE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        yield client


@pytest.fixture
def shop_app(
    app_pool: ConnectionPool[Any], settings: Settings, recorder: Recorder, payments: LocalTestProvider, s3: Any
) -> FastAPI:
    return create_app(
        pool=app_pool,
        settings=settings,
        passwords=fast_passwords(),
        payments=payments,
        clicks=Clicks(recorder),
        images=ImageUploads(s3, IMAGE_BUCKET, settings.image_max_bytes),
    )


@pytest.fixture
def new_client(shop_app: FastAPI) -> Iterator[Callable[[], TestClient]]:
    """A fresh browser: its own cookies. HTTPS, so that Secure cookies come back as they would."""
    made: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(shop_app, base_url="https://shop.test")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(new_client: Callable[[], TestClient]) -> TestClient:
    return new_client()


@pytest.fixture
def shopper(new_client: Callable[[], TestClient]) -> tuple[TestClient, dict[str, str]]:
    """A seller who also buys, quiet about server errors (answered as 500s), and a value for each
    path parameter: their own product, a pending order of theirs, a purchase of theirs."""
    other = new_client()
    customer(other, seller=True)
    for_sale = post_product(other, stock=10)
    client = TestClient(new_client().app, base_url="https://shop.test", raise_server_exceptions=False)
    customer(client, seller=True)
    own = post_product(client)
    bought = order_of(client, for_sale["product_id"], key="bought-key-0001")
    paid = client.post(f"/api/orders/{bought['order_id']}/payment", json=GOOD_CARD,
                       headers={"Idempotency-Key": "paid-key-0001"})  # fmt: skip
    assert paid.status_code == 201
    pending = order_of(client, for_sale["product_id"], key="pending-key-0001")
    ids = {"product_id": str(own["product_id"]), "order_id": pending["order_id"],
           "purchase_id": str(bought["lines"][0]["purchase_id"])}  # fmt: skip
    return client, ids


@pytest.fixture
def local_shop(postgres_dsn: str, shop_schema: str) -> Iterator[LocalShop]:
    """Both tiers (nginx before the app) on loopback over the test's schema; test files that need
    another shop define their own."""
    with running_shop(
        postgres_dsn, search_path=shop_schema, passwords=fast_passwords(), housekeeping_seconds=3600
    ) as shop:
        yield shop
