"""The extract reads each shop table once, and logs in for each read with a token made just before it (review 17).

Some shop tables are put behind views that count their reads in a sequence (outside any transaction:
nothing rolls a count back), may take a long time by the shop's clock, and refuse a login whose token has
expired, as RDS does. The shop's clock is the host's plus an offset that a slow read moves forward, so a
read taking 16 minutes takes none. The token travels as the connection's application name: the local
server trusts every login and never sees a password.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shoplake import lake_layout
from shoplake_etl.extract import login_now
from shoplake_etl.glue_services import rds_iam_password
from shoplake_etl.steps import run_extract, table_path

RUN_DATE = date(2026, 11, 23)
# RDS takes an IAM token for new connections during 15 minutes after it was made.
TOKEN_SECONDS = 15 * 60


class TokenIssuer:
    """RDS's side of IAM authentication: each token names the shop clock's Unix time after which it logs no one in."""

    def __init__(self, database: Any) -> None:
        self.database = database
        self.tokens: list[str] = []

    def token(self) -> str:
        now = self.database.execute("SELECT extract(epoch FROM shop_clock())").fetchone()[0]
        self.tokens.append(f"expires {float(now) + TOKEN_SECONDS:.3f}")
        return self.tokens[-1]

    def latest(self) -> str:
        return self.tokens[-1]


def _advance_the_shop_clock(database: Any, seconds: int) -> None:
    database.execute("SELECT setval('clock_offset', (SELECT last_value FROM clock_offset) + %s)", (seconds,))


def _behind_a_view(database: Any, table: str, *, takes_seconds: int = 0, grows: bool = False) -> None:
    """`table` read through a view that counts reads in `<table>_reads`, refuses a login past its token's
    expiry, takes `takes_seconds` of the shop's clock per read, and, if `grows`, gives each row once more on
    each read than on the last."""
    database.execute("CREATE SEQUENCE IF NOT EXISTS clock_offset MINVALUE 0 START 0")
    database.execute(
        "CREATE OR REPLACE FUNCTION shop_clock() RETURNS timestamptz LANGUAGE sql SET search_path FROM CURRENT "
        "AS $$ SELECT clock_timestamp() + make_interval(secs => (SELECT last_value FROM clock_offset)) $$"
    )
    database.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_stored"')
    database.execute(f'CREATE SEQUENCE "{table}_reads"')
    copies = "n" if grows else "1"
    database.execute(
        f"""
        CREATE FUNCTION "read_{table}"() RETURNS SETOF "{table}_stored"
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        DECLARE
            n bigint := nextval('"{table}_reads"');
            logged_in timestamptz := (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
                + (shop_clock() - clock_timestamp());
            token text := current_setting('application_name');
        BEGIN
            IF token NOT LIKE 'expires %' OR logged_in > to_timestamp(split_part(token, ' ', 2)::float8) THEN
                RAISE EXCEPTION 'login with an expired token (%) at %', token, logged_in;
            END IF;
            PERFORM setval('clock_offset', (SELECT last_value FROM clock_offset) + {takes_seconds});
            RETURN QUERY SELECT s.* FROM "{table}_stored" AS s CROSS JOIN generate_series(1, {copies});
        END $$"""  # noqa: S608 - the tests' own table names
    )
    database.execute(f'CREATE VIEW "{table}" AS SELECT * FROM "read_{table}"()')  # noqa: S608 - as above
    database.execute(f'GRANT SELECT ON "{table}" TO shop_etl')


def _reads(database: Any, table: str) -> int:
    last, called = database.execute(f'SELECT last_value, is_called FROM "{table}_reads"').fetchone()  # noqa: S608
    return int(last) if called else 0


def _login(issuer: TokenIssuer) -> dict[str, Any]:
    # As glue_services gives it: the password a token maker; here the token also names the connection.
    return {"user": "shop_etl", "driver": "org.postgresql.Driver", "password": issuer.token,
            "ApplicationName": issuer.latest}  # fmt: skip


def test_a_read_starting_after_the_first_tokens_window_still_logs_in(
    spark: Any, shop: tuple[Any, str], tmp_path: Path
) -> None:
    # GIVEN customers (read first) taking 16 minutes to read, longer than a token logs in
    database, jdbc = shop
    _behind_a_view(database, "customer", takes_seconds=16 * 60)
    for table in ("product", "review"):
        _behind_a_view(database, table)
    issuer = TokenIssuer(database)
    # WHEN the night extracts every table, one after the other
    counts = run_extract(spark, jdbc, _login(issuer), lake_root=tmp_path.as_uri() + "/", run_date=RUN_DATE, salt="s")
    # THEN the products and reviews, read after the first token expired, logged in with tokens of their own
    assert counts == {"customer": 1, "product": 1, "purchase": 1, "review": 0}
    assert len(issuer.tokens) == 4
    assert [_reads(database, t) for t in ("customer", "product", "review")] == [1, 1, 1]


def test_a_login_with_an_expired_token_is_refused_by_the_view(spark: Any, shop: tuple[Any, str]) -> None:
    # GIVEN products behind the view, and a token made 15 minutes and a second ago
    database, jdbc = shop
    _behind_a_view(database, "product")
    properties = login_now(_login(TokenIssuer(database)))
    _advance_the_shop_clock(database, TOKEN_SECONDS + 1)
    # WHEN the products are read with it THEN the login is refused, as RDS refuses it: the view is a fair judge
    with pytest.raises(Exception, match="expired token"):
        spark.read.jdbc(jdbc, "(SELECT product_id FROM product) AS p", properties=properties).collect()


def test_each_table_is_read_once_and_its_count_is_the_rows_written(
    spark: Any, shop: tuple[Any, str], tmp_path: Path
) -> None:
    # GIVEN a shop whose products change between any two reads (each read gives every product once more)
    database, jdbc = shop
    _behind_a_view(database, "product", grows=True)
    for table in ("customer", "review"):
        _behind_a_view(database, table)
    lake = tmp_path.as_uri() + "/"
    # WHEN the night extracts every table
    counts = run_extract(spark, jdbc, _login(TokenIssuer(database)), lake_root=lake, run_date=RUN_DATE, salt="s")
    # THEN each table was read from the database once
    assert [_reads(database, t) for t in ("customer", "product", "review")] == [1, 1, 1]
    # AND each count is the rows in the written Parquet
    for table, count in counts.items():
        written = pq.read_table(Path(table_path(f"{tmp_path}/", lake_layout.ETL_RAW, table, RUN_DATE)))
        assert written.num_rows == count, table
    assert counts["product"] == 1


def test_the_rds_token_maker_asks_for_a_new_token_each_call() -> None:
    # GIVEN an RDS client that signs a token at each request, and the shop database's JDBC URL
    class Rds:
        def __init__(self) -> None:
            self.requests: list[dict[str, Any]] = []

        def generate_db_auth_token(self, **request: Any) -> str:
            self.requests.append(request)
            return f"token {len(self.requests)} at {time.time()}"

    rds = Rds()
    token = rds_iam_password(rds, "jdbc:postgresql://shop.abc.rds.amazonaws.com:6432/shop?sslmode=require", "shop_etl")
    # WHEN two reads log in
    first, second = login_now({"password": token})["password"], login_now({"password": token})["password"]
    # THEN each made its own token, for the URL's host and port and the ETL's user
    assert first != second and first.startswith("token 1") and second.startswith("token 2")
    assert rds.requests == [{"DBHostname": "shop.abc.rds.amazonaws.com", "Port": 6432, "DBUsername": "shop_etl"}] * 2
