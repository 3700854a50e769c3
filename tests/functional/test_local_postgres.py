"""Where no PostgreSQL listens, the local stack starts an embedded one that JDBC can reach over TCP."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from local_stack.postgres import jdbc_properties, jdbc_url, shop_postgres

NOBODY_LISTENS = "postgresql://postgres@127.0.0.1:1/postgres"


@pytest.mark.server  # starts an embedded PostgreSQL
def test_an_embedded_postgres_answers_on_a_loopback_port(tmp_path: Path) -> None:
    # GIVEN no server where the DSN points
    with shop_postgres(tmp_path, dsn=NOBODY_LISTENS) as dsn:
        # THEN an embedded one answers over TCP, on loopback
        assert dsn.startswith("postgresql://postgres@127.0.0.1:") and dsn != NOBODY_LISTENS
        with psycopg.connect(dsn) as connection:
            assert connection.execute("SELECT 6 * 7").fetchone() == (42,)
        assert jdbc_url(dsn, "shop").startswith("jdbc:postgresql://127.0.0.1:")
        assert jdbc_url(dsn, "shop").endswith("/postgres?currentSchema=shop")
        assert jdbc_properties(dsn) == {"user": "postgres", "driver": "org.postgresql.Driver"}
