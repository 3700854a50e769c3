"""The shop's database roles: the app tier's shop_app may do only what its code does, table by
table, and no DDL; the ETL's shop_etl reads only the columns the extract reads; every table in the
migrated schema has an explicit decision for shop_app, so a new table without grants fails here."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from shop.migrate import apply_migrations
from shoplake_etl.tables import ETL_DATABASE_ROLE, SOURCE_TABLES

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
# What shop_app may do with each table of the shop's schema: the decision for each table, made in
# the migration that creates it. A table missing here, or privileges that differ, fail the test:
# add the grant to that migration and the decision here, together.
APP_TABLE_PRIVILEGES: dict[str, frozenset[str]] = {
    "cart_item": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"}),
    "customer": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "customer_contact": frozenset({"SELECT", "INSERT"}),
    "customer_order": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "login_failure": frozenset({"SELECT", "INSERT", "DELETE"}),
    "login_known_client": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"}),
    "payment": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "product": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "product_image": frozenset({"SELECT", "INSERT"}),
    "purchase": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "review": frozenset({"SELECT", "INSERT"}),
    "schema_migrations": frozenset({"SELECT"}),
    "shop_session": frozenset({"SELECT", "INSERT", "DELETE"}),
    "signup_attempt": frozenset({"SELECT", "INSERT", "DELETE"}),
    "signup_request": frozenset({"SELECT", "INSERT", "DELETE"}),
}
# What the ETL must never read: personal contact data, sessions, payments.
ETL_NEVER_READS = (
    "customer_contact", "shop_session", "login_failure", "login_known_client", "payment", "cart_item",
    "signup_request", "signup_attempt",
)  # fmt: skip


def connect_as(postgres_dsn: str, role: str, schema: str) -> psycopg.Connection[Any]:
    """A session of `role` on `schema`, as the app tier or the extract opens one (trust auth locally)."""
    return psycopg.connect(make_conninfo(postgres_dsn, user=role, options=f"-c search_path={schema}"), autocommit=True)


@pytest.fixture
def migrated(database: Any) -> str:
    apply_migrations(database)
    return str(database.execute("SELECT current_schema()").fetchone()[0])


def _tables(database: Any, schema: str) -> list[str]:
    rows = database.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1",
        (schema,),
    ).fetchall()
    return [row[0] for row in rows]


def _app_privileges(database: Any, table: str) -> frozenset[str]:
    query = "SELECT has_table_privilege('shop_app', %s, %s)"
    return frozenset(p for p in PRIVILEGES if database.execute(query, (table, p)).fetchone()[0])


def test_every_table_has_an_explicit_decision_for_the_app_role(database: Any, migrated: str) -> None:
    # GIVEN every migration applied WHEN the app role's privileges on each table are read
    granted = {table: _app_privileges(database, f'"{migrated}"."{table}"') for table in _tables(database, migrated)}
    # THEN each table is decided here, and the grants are exactly the decision (no more, no less)
    undecided = sorted(set(granted) - set(APP_TABLE_PRIVILEGES))
    assert not undecided, (
        f"tables without a decision for shop_app (grant in their migration, decide above): {undecided}"
    )
    assert granted == APP_TABLE_PRIVILEGES


def test_the_roles_own_nothing_and_cannot_change_the_schema(postgres_dsn: str, database: Any, migrated: str) -> None:
    # GIVEN a migrated schema
    owners = database.execute(
        "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s",
        (migrated,),
    ).fetchall()
    assert ("shop_app",) not in owners and ("shop_etl",) not in owners
    for role in ("shop_app", "shop_etl"):
        with connect_as(postgres_dsn, role, migrated) as session:
            # WHEN either role tries DDL THEN PostgreSQL refuses it
            for ddl in ("CREATE TABLE sneaky (x int)", "ALTER TABLE product ADD COLUMN x int", "DROP TABLE review",
                        "TRUNCATE login_failure", "CREATE INDEX sneaky ON product (name)"):  # fmt: skip
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    session.execute(ddl)
            assert session.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                   "WHERE rolname = current_user").fetchone() == (False,)  # fmt: skip


def test_the_app_role_cannot_read_a_table_it_has_no_grant_on(postgres_dsn: str, database: Any, migrated: str) -> None:
    # GIVEN a table the app has no decision for (as a later migration might forget to grant)
    database.execute("CREATE TABLE audit_note (note text)")
    with connect_as(postgres_dsn, "shop_app", migrated) as app:
        # WHEN the app reads or writes it THEN it is refused
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("SELECT * FROM audit_note")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("INSERT INTO audit_note VALUES ('x')")
        # ... and it cannot delete what the shop only ever adds to
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DELETE FROM customer_contact")
        # AND what it may do works: a sign-up, identity column and all
        customer = app.execute("INSERT INTO customer (country) VALUES ('KR') RETURNING customer_id").fetchone()
        assert customer is not None


def test_the_etl_role_reads_exactly_the_extracts_columns_and_no_contact_data(
    postgres_dsn: str, database: Any, migrated: str
) -> None:
    with connect_as(postgres_dsn, "shop_etl", migrated) as etl:
        # GIVEN the extract's own declarations WHEN the ETL role reads each table's columns THEN it may
        for table in SOURCE_TABLES:
            columns = ", ".join(f't."{column}"' for column in table.columns)
            etl.execute(f'SELECT {columns} FROM "{table.name}" AS t LIMIT 0')  # noqa: S608 - our own declarations
        # ... but not the contact data, nor a column the extract does not read, nor write anything
        for forbidden in [f"SELECT * FROM {name}" for name in ETL_NEVER_READS] + [  # noqa: S608 - our own names
            "SELECT password_hash FROM customer_contact",
            "SELECT description FROM product",
            "SELECT idempotency_key FROM purchase",
            "INSERT INTO review (purchase_id, rating) VALUES (1, 5)",
            "UPDATE product SET price = 0",
        ]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                etl.execute(forbidden)


def test_migrating_a_second_schema_keeps_the_roles_and_grants_there_too(
    postgres_dsn: str, database: Any, migrated: str
) -> None:
    # GIVEN the roles already exist (this schema's migration, or any earlier one in the cluster)
    other = f"{migrated}_b"
    database.execute(f'CREATE SCHEMA "{other}"')
    try:
        with psycopg.connect(make_conninfo(postgres_dsn, options=f"-c search_path={other}"), autocommit=True) as owner:
            # WHEN another schema is migrated THEN the migration passes and the app may use that schema's tables
            apply_migrations(owner)
        with connect_as(postgres_dsn, "shop_app", other) as app:
            assert app.execute("SELECT count(*) FROM product").fetchone() == (0,)
    finally:
        database.execute(f'DROP SCHEMA "{other}" CASCADE')


class _RollbackError(Exception):
    """Raised to roll back a transaction the test opened."""


def test_on_rds_both_roles_may_log_in_with_iam_tokens(database: Any) -> None:
    # GIVEN RDS's rds_iam role (created inside a transaction that is rolled back: no other session sees it)
    with pytest.raises(_RollbackError), database.transaction():
        database.execute("CREATE ROLE rds_iam NOLOGIN")
        # WHEN the schema is migrated
        apply_migrations(database)
        # THEN the app's and the ETL's roles are members of rds_iam, so RDS accepts their IAM tokens
        members = database.execute(
            "SELECT pg_has_role('shop_app', 'rds_iam', 'MEMBER'), pg_has_role('shop_etl', 'rds_iam', 'MEMBER')"
        ).fetchone()
        assert members == (True, True)
        raise _RollbackError
    assert database.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() == (0,)


def test_the_etl_roles_column_grants_are_exactly_what_the_extract_declares(database: Any, migrated: str) -> None:
    # GIVEN the extract's declaration (shoplake_etl.tables, its one source) WHEN the ETL role's grants are read
    rows = database.execute(
        "SELECT table_name, column_name FROM information_schema.column_privileges "
        "WHERE grantee = %s AND table_schema = %s AND privilege_type = 'SELECT'",
        (ETL_DATABASE_ROLE, migrated),
    ).fetchall()
    granted = {(table, column) for table, column in rows}
    declared = {(table.name, column) for table in SOURCE_TABLES for column in table.columns}
    # THEN they are the same, column for column: nothing the extract does not read (a password hash), nothing missing
    assert granted == declared
    assert not any(column == "password_hash" for _, column in granted)
