"""Review 17, a stranger's attack on the nightly ETL, against real servers: faults found, each a test failing today.

The ETL's database role on this machine's PostgreSQL, migrated as the tests migrate it, logged in as
the extract logs in. Every test is `xfail(strict=True)`: fixing the fault makes it pass, and strict
xfail then fails the run, so whoever fixes it removes the mark.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from shop.app.db.locks import Lock
from shop.migrate import apply_migrations
from shoplake_etl.tables import ETL_DATABASE_ROLE


@pytest.fixture
def etl(database: Any, postgres_dsn: str) -> Any:
    """A session of the ETL's role on a freshly migrated shop schema, as the extract opens one."""
    apply_migrations(database)
    schema = database.execute("SELECT current_schema()").fetchone()[0]
    conninfo = make_conninfo(postgres_dsn, user=ETL_DATABASE_ROLE, options=f"-c search_path={schema}")
    with psycopg.connect(conninfo, autocommit=True) as session:
        yield session


@pytest.mark.xfail(
    strict=True,
    reason="shop_etl is 'read-only' by its grants only: PostgreSQL gives PUBLIC TEMPORARY on the database, "
    "so the ETL's login creates and fills tables (0004_roles.sql revokes nothing, sets no read-only default)",
)
def test_the_etl_role_cannot_create_a_temporary_table(etl: Any) -> None:
    # WHEN the ETL's login creates a temporary table THEN PostgreSQL refuses it
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        etl.execute("CREATE TEMPORARY TABLE scratch (x text)")


@pytest.mark.xfail(
    strict=True,
    reason="shop_etl may create large objects (lo_from_bytea): data written into the shop database by the "
    "'read-only' ETL login, kept after its session ends",
)
def test_the_etl_role_cannot_store_a_large_object(etl: Any) -> None:
    # WHEN the ETL's login stores bytes as a large object
    try:
        stored = etl.execute("SELECT lo_from_bytea(0, 'exfiltrated'::bytea)").fetchone()[0]
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
        return  # THEN PostgreSQL refuses it
    etl.execute("SELECT lo_unlink(%s)", (stored,))  # (leave the server as it was)
    pytest.fail(f"shop_etl stored large object {stored}")


@pytest.mark.xfail(
    strict=True,
    reason="shop_etl may take the shop's advisory locks (pg_advisory_lock is PUBLIC): the ETL's login can hold "
    "the schema's migration lock (or a login's, a payment's) and stall the shop",
)
def test_the_etl_role_cannot_hold_the_shops_migration_lock(etl: Any) -> None:
    # WHEN the ETL's login takes the advisory lock the shop's migrations wait on (shop.app.db.locks)
    key = "hashtext(concat_ws('/', coalesce(current_schema(), ''), NULL::text))"
    held = etl.execute(f"SELECT pg_try_advisory_lock(%s, {key})", (int(Lock.MIGRATIONS),)).fetchone()[0]
    if held:
        etl.execute(f"SELECT pg_advisory_unlock(%s, {key})", (int(Lock.MIGRATIONS),))
    # THEN it cannot
    assert not held
