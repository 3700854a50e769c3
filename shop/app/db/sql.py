"""Running a query and reading its rows as a type: the few lines every data-access module shares."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

Connection = psycopg.Connection[Any]
"""A psycopg 3 connection to the shop's database, in autocommit mode (pools hand these out)."""


def fetch_all[T](connection: Connection, row_type: type[T], query: Any, params: Any = ()) -> list[T]:
    """Every row of `query` as a `row_type`, built from the columns by name (psycopg's `class_row`).

    The query's column names must be exactly `row_type`'s fields; psycopg's errors pass through.
    """
    with connection.cursor(row_factory=class_row(row_type)) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def fetch_one[T](connection: Connection, row_type: type[T], query: Any, params: Any = ()) -> T | None:
    """The first row of `query` as a `row_type`, or None when there is none."""
    rows = fetch_all(connection, row_type, query, params)
    return rows[0] if rows else None


def fetch_dicts(connection: Connection, query: Any, params: Any = ()) -> list[dict[str, Any]]:
    """Every row of `query` as a dict by column name: for rows a module assembles from two queries."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()
