"""The app tier logs in as shop_app with a token made for each new connection, so that a rotation
never leaves it with a stale password; readiness touches the database and refuses a schema behind
the image; liveness never touches the database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.db_credentials import APP_ROLE, app_pool, connect, connection_arguments, rds_token_source
from shop.app.passwords import fast_passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from shop.migrate import MIGRATIONS

RDS_ENV = {
    "DATABASE_HOST": "shoplake-dev-shop.abc123.ap-northeast-2.rds.amazonaws.com",
    "DATABASE_PORT": "5432",
    "DATABASE_USER": APP_ROLE,
    "DATABASE_IAM_AUTH": "true",
    "DATABASE_SSLMODE": "verify-full",
    "AWS_REGION": "ap-northeast-2",
}


def local_env(postgres_dsn: str, schema: str, **extra: str) -> dict[str, str]:
    """The DATABASE_* settings of this machine's PostgreSQL, as shop_app on `schema` (trust auth)."""
    local = conninfo_to_dict(postgres_dsn)
    url = f"postgresql://{APP_ROLE}@{local.get('host', '127.0.0.1')}:{local.get('port', 5432)}/{local.get('dbname')}"
    return {"DATABASE_URL": f"{url}?options=-csearch_path%3D{schema}", **extra}


class RotatingTokens:
    """A stand-in for RDS IAM tokens: a new one each call; `rotate()` makes every earlier one stale."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)
        self.issued: list[str] = []
        self.generation = 1

    def __call__(self) -> str:
        self.issued.append(f"token-{self.generation}-{next(self.counter)}")
        return self.issued[-1]

    def rotate(self) -> None:
        self.generation += 1


def test_a_token_is_an_rds_iam_token_for_the_app_role_of_that_host() -> None:
    # GIVEN the task definition's settings (IAM auth on) and the task role's credentials (fake here)
    token = rds_token_source(RDS_ENV, boto3.client("rds", region_name="ap-northeast-2"))()
    # WHEN a token is made THEN it is a signed connect request for that host, port and user, for 15 minutes
    url = urlparse(f"https://{token}")
    query = parse_qs(url.query)
    assert (url.hostname, url.port) == (RDS_ENV["DATABASE_HOST"], 5432)
    assert query["Action"] == ["connect"] and query["DBUser"] == [APP_ROLE]
    assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query


def test_iam_auth_without_a_host_or_user_is_refused() -> None:
    with pytest.raises(ValueError, match="DATABASE_HOST"):
        rds_token_source({"DATABASE_URL": "dbname=shop", "DATABASE_IAM_AUTH": "true"}, object())


def test_each_new_connection_gets_a_fresh_token_so_a_rotation_never_matters(
    postgres_dsn: str, database: Any, shop_schema: str
) -> None:
    # GIVEN the app's pool with a token source, its first connections opened
    tokens = RotatingTokens()
    pool = app_pool(local_env(postgres_dsn, shop_schema), token=tokens, min_size=1, max_size=1, open=True)
    try:
        with pool.connection() as first:
            assert first.info.user == APP_ROLE and first.info.password in tokens.issued
        # WHEN the credentials rotate (every earlier token is stale) and the pool renews its connections
        tokens.rotate()
        _renew(pool)
        # THEN the connection opened after the rotation logged in with a token made after it, and works
        with pool.connection() as after:
            assert after.info.password.startswith("token-2-")
            assert after.execute("SELECT count(*) FROM product").fetchone() == (0,)
    finally:
        pool.close()


def _renew(pool: ConnectionPool[Any]) -> None:
    """Close every idle connection, as the pool does at max_lifetime or after a fail-over, and wait for new ones."""
    with pool.connection() as connection:
        connection.close()  # a broken connection is thrown away, not returned
    pool.check()  # the others are checked and replaced as needed
    pool.wait(timeout=10)


def test_the_pool_asks_for_a_password_for_every_connection_and_sends_none_without_iam() -> None:
    # GIVEN the arguments the pool takes per connection WHEN a token source is given THEN each call asks it anew
    tokens = RotatingTokens()
    arguments = connection_arguments(tokens, autocommit=True)
    assert [arguments()["password"] for _ in range(3)] == ["token-1-1", "token-1-2", "token-1-3"]
    # ... and without one (locally, trust auth) no password is sent at all
    assert connection_arguments(None, autocommit=True)() == {"autocommit": True}


def test_housekeeping_logs_in_as_the_app_does(postgres_dsn: str, database: Any, shop_schema: str) -> None:
    # GIVEN IAM auth with a token source WHEN the one-connection login is used THEN it carries a token, as shop_app
    tokens = RotatingTokens()
    with connect(local_env(postgres_dsn, shop_schema), token=tokens) as connection:
        assert (connection.info.user, connection.info.password) == (APP_ROLE, "token-1-1")


@pytest.fixture
def served(app_pool: ConnectionPool[Any]) -> Iterator[TestClient]:
    app: FastAPI = create_app(
        pool=app_pool,
        settings=Settings(),
        passwords=fast_passwords(),
        payments=LocalTestProvider(),
        clicks=Clicks(None),
    )
    with TestClient(app, base_url="https://shop.test") as client:
        yield client


def test_readiness_answers_when_the_database_answers_and_the_schema_is_current(served: TestClient) -> None:
    assert served.get("/readyz").json() == {"status": "ready", "detail": None}
    assert served.get("/healthz").status_code == 200


def test_readiness_refuses_a_schema_behind_the_image(served: TestClient, database: Any) -> None:
    # GIVEN the newest migration is not recorded as applied (the migration task has not run yet)
    newest = sorted(path.stem for path in MIGRATIONS.glob("*.sql"))[-1]
    database.execute("DELETE FROM schema_migrations WHERE version = %s", (newest,))
    # WHEN the load balancer asks THEN 503 naming the migration; liveness still answers
    answer = served.get("/readyz")
    assert answer.status_code == 503 and newest in answer.json()["detail"]
    assert served.get("/healthz").status_code == 200


def test_readiness_fails_and_liveness_holds_when_the_database_does_not_answer(shop_schema: str) -> None:
    # GIVEN an app whose database does not answer (nothing listens there)
    pool: ConnectionPool[Any] = ConnectionPool(
        "postgresql://shop_app@127.0.0.1:9/shop", kwargs={"autocommit": True}, min_size=1, open=False
    )
    app = create_app(
        pool=pool, settings=Settings(), passwords=fast_passwords(), payments=LocalTestProvider(), clicks=Clicks(None)
    )
    pool.open(wait=False)
    try:
        with TestClient(app, base_url="https://shop.test") as client:
            # WHEN readiness and liveness are asked THEN readiness is 503 within its timeout, liveness 200
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "does not answer" in ready.json()["detail"]
            assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        pool.close()


def test_the_load_balancers_health_checks_are_not_visits(client: TestClient, recorder: Any) -> None:
    # GIVEN the app with its clickstream WHEN the load balancer and the container ask readiness and liveness
    for _ in range(3):
        assert client.get("/readyz").status_code == 200 and client.get("/healthz").status_code == 200
    # THEN no clickstream event is sent for them
    assert recorder.events == []
