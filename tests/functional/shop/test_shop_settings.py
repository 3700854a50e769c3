"""Where the app finds its database: a password from the RDS secret may hold any character."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from shop.app.settings import database_dsn

ODD_PASSWORDS = ["pa/ss", "p@ss:word", "100%sure", "two words", "it's", 'say "hi"', "back\\slash", "?x=1&y#z",
                 "pässwörd-비밀번호", " leading and trailing "]  # fmt: skip
ECS = {
    "DATABASE_USER": "shop",
    "DATABASE_HOST": "db.internal",
    "DATABASE_PORT": "5432",
    "DATABASE_SSLMODE": "verify-full",
}


@pytest.mark.parametrize("password", ODD_PASSWORDS)
def test_any_password_reaches_libpq_as_it_is(password: str) -> None:
    # GIVEN the environment ECS sets, with an odd password from the secret
    env = {**ECS, "DATABASE_PASSWORD": password, "DATABASE_SSLROOTCERT": "/etc/ssl/rds bundle.pem"}
    # WHEN the connection string is made THEN libpq reads back every setting exactly as given
    assert conninfo_to_dict(database_dsn(env)) == {
        "user": "shop", "password": password, "host": "db.internal", "port": "5432", "dbname": "shop",
        "sslmode": "verify-full", "sslrootcert": "/etc/ssl/rds bundle.pem",
    }  # fmt: skip


def test_no_password_is_no_password_setting() -> None:
    # GIVEN no password in the environment WHEN the connection string is made THEN it sets none
    assert "password" not in conninfo_to_dict(database_dsn(ECS))


@pytest.mark.parametrize("password", ODD_PASSWORDS)
def test_an_odd_password_connects(postgres_dsn: str, password: str) -> None:
    # GIVEN this machine's PostgreSQL (which trusts local users) reached through the DATABASE_* settings
    local = conninfo_to_dict(postgres_dsn)
    env = {"DATABASE_HOST": str(local.get("host", "127.0.0.1")), "DATABASE_PORT": str(local.get("port", "5432")),
           "DATABASE_USER": str(local.get("user", "postgres")), "DATABASE_NAME": str(local.get("dbname", "test")),
           "DATABASE_SSLMODE": "disable", "DATABASE_PASSWORD": password}  # fmt: skip
    # WHEN the app connects with an odd password THEN libpq takes it and the database answers
    with psycopg.connect(database_dsn(env)) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_a_whole_database_url_is_used_as_it_is_and_a_broken_one_is_refused() -> None:
    url = "postgresql://shop@db.internal:5432/shop?sslmode=require"
    assert database_dsn({"DATABASE_URL": url}) == url
    with pytest.raises(psycopg.ProgrammingError):
        database_dsn({"DATABASE_URL": "host='unterminated"})
