"""A real PostgreSQL for the tests that need one: this machine's server, or an embedded one."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

# The server this machine (and CI, on the same machine) starts before a session.
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    dsn = os.environ.get("SHOPLAKE_TEST_DSN", LOCAL_DSN)
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
        yield dsn
        return
    except psycopg.OperationalError:
        pass
    import pgserver  # noqa: PLC0415 - only where no server runs

    server = pgserver.get_server(tempfile.mkdtemp(prefix="shoplake-pg-"), cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


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
