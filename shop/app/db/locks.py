"""PostgreSQL advisory locks: one task at a time migrates the schema, keeps house, or pays an order,
however many start.

A lock is held by a database session (connection) and goes with it, so a task that dies holding
one never blocks the others for long, and a lock that is free tells that nobody is doing that
work any more. Each lock is per schema and subject (the two-key form: which lock, then the hash
of `current_schema()` and the subject, such as an order's id), so that the tests' schemas and the
demo's never wait on each other. Two subjects whose hashes meet only wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

import psycopg

from shop.app.db.sql import Connection

# concat_ws skips a NULL subject: the key of a lock without one is the schema's hash alone.
_SUBJECT_KEY = "hashtext(concat_ws('/', coalesce(current_schema(), ''), %s::text))"


class Lock(IntEnum):
    """The shop's advisory locks (first key; large, so as not to meet other code's small numbers)."""

    MIGRATIONS = 0x5348_0001
    HOUSEKEEPING = 0x5348_0002
    PAYMENT = 0x5348_0003  # per order: its payment is being asked for or settled
    PAYMENT_KEY = 0x5348_0004  # per Idempotency-Key: which order a payment key belongs to is being decided
    LOGIN_EMAIL = 0x5348_0005  # per e-mail: a login attempt is being counted and reserved
    LOGIN_CLIENT = 0x5348_0006  # per client address: the same
    SIGNUP_CLIENT = 0x5348_0007  # per client address: a sign-up is being counted
    SIGNUP_EMAIL = 0x5348_0008  # per e-mail: one of its sign-up links is being confirmed


def transaction_lock(connection: Connection, lock: Lock, subject: str) -> None:
    """Hold `lock` for the connection's schema and `subject` until the caller's transaction ends.

    Call inside a transaction; for work that is one transaction (counting, then writing what was
    counted), where a session lock would outlive an error.
    """
    connection.execute(f"SELECT pg_advisory_xact_lock(%s, {_SUBJECT_KEY})", (int(lock), subject))


@contextmanager
def advisory_lock(
    connection: Connection, lock: Lock, *, subject: str | None = None, wait: bool = True
) -> Iterator[bool]:
    """Hold `lock` for the connection's schema (and `subject`) while the block runs; yields whether it is held.

    With `wait` it waits for whoever holds it (and yields True); without, it yields False at once
    when another session holds it (the block then must not do the guarded work). The session that
    holds it may take it again (PostgreSQL counts). `connection` must be in autocommit mode, so that
    the lock is the session's rather than a transaction's (ValueError otherwise).
    """
    if not connection.autocommit:
        raise ValueError("advisory_lock needs an autocommit connection")
    key = (int(lock), subject)
    if wait:
        connection.execute(f"SELECT pg_advisory_lock(%s, {_SUBJECT_KEY})", key)
        held = True
    else:
        row = connection.execute(f"SELECT pg_try_advisory_lock(%s, {_SUBJECT_KEY})", key).fetchone()
        held = bool(row and row[0])
    try:
        yield held
    finally:
        if held and not connection.closed:
            try:
                connection.execute(f"SELECT pg_advisory_unlock(%s, {_SUBJECT_KEY})", key)
            except psycopg.OperationalError:
                if not connection.broken:
                    raise  # else the session is lost, and its locks went with it
