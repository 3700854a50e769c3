"""Sign-ups waiting for their e-mail's confirmation, and the per-address sign-up limit (tables
signup_request, signup_attempt; shop/migrations/0006_email_confirmation.sql).

A sign-up makes no account: it stores a request under the SHA-256 of a random token that only the
mail to the address carries. Following the link (with the password chosen at that sign-up) makes
the customer; until then the e-mail logs in as no account does. Times are the database's (`now()`).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from shop.app.db.locks import Lock, transaction_lock
from shop.app.db.sql import Connection, fetch_one
from shop.app.errors import TooManyAttemptsError

SIGNUP_ATTEMPTS_KEPT = timedelta(days=1)
"""How long an accepted sign-up is remembered for the per-address limit (longer than its window)."""


@dataclass(frozen=True, slots=True)
class SignUpRequest:
    """The account a sign-up would make: `email` lower case, `country` ISO 3166-1 alpha-2, the
    password's argon2 hash."""

    email: str
    password_hash: str
    display_name: str | None
    country: str
    birth_year: int | None
    gender: str | None
    is_seller: bool


def token_hash(token: str) -> bytes:
    """The 32-byte SHA-256 a token is stored as."""
    return hashlib.sha256(token.encode()).digest()


def reserve_signup(connection: Connection, client_ip: str, per_window: int, window: timedelta) -> None:
    """Count a sign-up from `client_ip`: at most `per_window` in any `window`. Counted and recorded in
    one transaction under the address's lock, so that a burst gets no more than one after another.
    Raises TooManyAttemptsError (nothing recorded) with the seconds until one more is heard."""
    with connection.transaction():
        transaction_lock(connection, Lock.SIGNUP_CLIENT, client_ip)
        row = connection.execute(
            # The age of the attempt whose leaving the window brings the count under the limit.
            "SELECT now() - attempted_at FROM signup_attempt WHERE client_ip = %s AND attempted_at > now() - %s "
            "ORDER BY attempted_at DESC OFFSET %s LIMIT 1",
            (client_ip, window, max(0, per_window - 1)),
        ).fetchone()
        if row is not None:
            wait = window - row[0]
            raise TooManyAttemptsError("too many sign-ups from this address; try again later",
                                       math.ceil(wait.total_seconds()))  # fmt: skip
        connection.execute("INSERT INTO signup_attempt (client_ip) VALUES (%s)", (client_ip,))


def has_account(connection: Connection, email: str) -> bool:
    """Whether a (confirmed) customer has this lower-case e-mail."""
    return connection.execute("SELECT 1 FROM customer_contact WHERE email = %s", (email,)).fetchone() is not None


def request_signup(connection: Connection, request: SignUpRequest, lifetime: timedelta) -> str:
    """Store `request` until `lifetime` from now; returns its token (43 URL-safe characters), which
    only the confirmation mail may carry. A value the table's CHECKs refuse raises IntegrityError."""
    token = secrets.token_urlsafe(32)
    connection.execute(
        "INSERT INTO signup_request (token_hash, email, password_hash, display_name, country, birth_year, gender, "
        "is_seller, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now() + %s)",
        (token_hash(token), request.email, request.password_hash, request.display_name, request.country,
         request.birth_year, request.gender, request.is_seller, lifetime),
    )  # fmt: skip
    return token


def pending_signup(connection: Connection, token: str) -> SignUpRequest | None:
    """The unexpired sign-up whose link carries `token`, else None."""
    return fetch_one(
        connection,
        SignUpRequest,
        "SELECT email, password_hash, display_name, country, birth_year, gender, is_seller FROM signup_request "
        "WHERE token_hash = %s AND expires_at > now()",
        (token_hash(token),),
    )


def confirm_signup(connection: Connection, token: str) -> int | None:
    """Make the customer of the unexpired sign-up `token` names, in one transaction that also takes
    back every other sign-up of its e-mail (single use: a second call finds nothing). Returns the new
    customer's id, or None when there is no such sign-up or its e-mail already has an account."""
    try:
        with connection.transaction():
            # Two links of one e-mail confirmed at once take turns (else each deletes the other's rows
            # in another order, a deadlock); the second then finds its link taken back.
            named = connection.execute(
                "SELECT email FROM signup_request WHERE token_hash = %s", (token_hash(token),)
            ).fetchone()
            if named is None:
                return None
            transaction_lock(connection, Lock.SIGNUP_EMAIL, named[0])
            found = fetch_one(
                connection,
                SignUpRequest,
                "DELETE FROM signup_request WHERE token_hash = %s AND expires_at > now() "
                "RETURNING email, password_hash, display_name, country, birth_year, gender, is_seller",
                (token_hash(token),),
            )
            if found is None:
                return None
            row = connection.execute(
                "INSERT INTO customer (birth_year, gender, country, is_seller) VALUES (%s, %s, %s, %s) "
                "RETURNING customer_id",
                (found.birth_year, found.gender, found.country, found.is_seller),
            ).fetchone()
            assert row is not None
            connection.execute(
                "INSERT INTO customer_contact (customer_id, email, password_hash, display_name) "
                "VALUES (%s, %s, %s, %s)",
                (row[0], found.email, found.password_hash, found.display_name),
            )
            connection.execute("DELETE FROM signup_request WHERE email = %s", (found.email,))
            return int(row[0])
    except psycopg.errors.UniqueViolation:
        return None  # confirmed meanwhile through another of its links: nothing is written


def forget_old_signups(connection: Connection) -> int:
    """Forget expired sign-ups and attempts older than SIGNUP_ATTEMPTS_KEPT; returns how many sign-ups went."""
    connection.execute("DELETE FROM signup_attempt WHERE attempted_at < now() - %s", (SIGNUP_ATTEMPTS_KEPT,))
    return connection.execute("DELETE FROM signup_request WHERE expires_at < now()").rowcount
