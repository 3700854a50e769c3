"""PostgreSQL advisory locks: one task at a time migrates the schema, or keeps house, however many start.

A lock is held by a database session (connection) and goes with it, so a task that dies holding
one never blocks the others for long. Each lock is per schema (the two-key form: which lock,
then the hash of `current_schema()`), so that the tests' schemas and the demo's never wait on
each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

from shop.app.db.sql import Connection

_SCHEMA_KEY = "hashtext(coalesce(current_schema(), ''))"


class Lock(IntEnum):
    """The shop's advisory locks (first key; large, so as not to meet other code's small numbers)."""

    MIGRATIONS = 0x5348_0001
    HOUSEKEEPING = 0x5348_0002


@contextmanager
def advisory_lock(connection: Connection, lock: Lock, *, wait: bool = True) -> Iterator[bool]:
    """Hold `lock` for the connection's schema while the block runs; yields whether it is held.

    With `wait` it waits for whoever holds it (and yields True); without, it yields False at once
    when another session holds it (the block then must not do the guarded work). `connection` must
    be in autocommit mode, so that the lock is the session's rather than a transaction's.
    """
    if not connection.autocommit:
        raise ValueError("advisory_lock needs an autocommit connection")
    if wait:
        connection.execute(f"SELECT pg_advisory_lock(%s, {_SCHEMA_KEY})", (int(lock),))
        held = True
    else:
        row = connection.execute(f"SELECT pg_try_advisory_lock(%s, {_SCHEMA_KEY})", (int(lock),)).fetchone()
        held = bool(row and row[0])
    try:
        yield held
    finally:
        if held:
            connection.execute(f"SELECT pg_advisory_unlock(%s, {_SCHEMA_KEY})", (int(lock),))
