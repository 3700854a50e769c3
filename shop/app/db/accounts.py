"""Customers, their sessions and their failed logins (tables customer, customer_contact,
shop_session, login_failure).

A session's cookie carries a random token; only its SHA-256 is stored, so a copy of the
table logs nobody in. Sessions and failed logins are counted and expire by the database's
clock (`now()`, UTC).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from shop.app.db.sql import Connection, fetch_one

LOGIN_FAILURES_KEPT = timedelta(days=1)
"""How long a failed login is remembered (longer than any rate-limit window)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login checks: the customer, their argon2 password hash, their name and role."""

    customer_id: int
    password_hash: str
    display_name: str | None
    is_seller: bool


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """Failed logins within a window: for this e-mail (any address) and from this address (any e-mail)."""

    by_email: int
    by_ip: int


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the cookie's token and the CSRF token (each 43 URL-safe characters)."""

    token: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class SessionCustomer:
    """The customer a live session belongs to, with the session's CSRF token."""

    customer_id: int
    csrf_token: str
    is_seller: bool
    display_name: str | None
    email: str


def sign_up(
    connection: Connection,
    *,
    email: str,
    password_hash: str,
    display_name: str | None,
    country: str,
    birth_year: int | None,
    gender: str | None,
    seller: bool,
) -> int | None:
    """Create a customer and their contact row in one transaction.

    `email` lower case, `country` ISO 3166-1 alpha-2, `gender` one of the CHECK's values or None.
    Returns the new customer's id, or None when the e-mail is taken (nothing is written then; the
    caller answers the same either way). A value the table's CHECKs refuse raises psycopg's
    `IntegrityError`.
    """
    try:
        with connection.transaction():
            row = connection.execute(
                "INSERT INTO customer (birth_year, gender, country, is_seller) VALUES (%s, %s, %s, %s) "
                "RETURNING customer_id",
                (birth_year, gender, country, seller),
            ).fetchone()
            assert row is not None
            connection.execute(
                "INSERT INTO customer_contact (customer_id, email, password_hash, display_name) "
                "VALUES (%s, %s, %s, %s)",
                (row[0], email, password_hash, display_name),
            )
            return int(row[0])
    except psycopg.errors.UniqueViolation:
        return None


def credentials(connection: Connection, email: str) -> Credentials | None:
    """The credentials of the customer with this (lower-case) e-mail, or None if there is none."""
    return fetch_one(
        connection,
        Credentials,
        "SELECT c.customer_id, c.password_hash, c.display_name, k.is_seller "
        "FROM customer_contact c JOIN customer k USING (customer_id) WHERE c.email = %s",
        (email,),
    )


def recent_login_failures(connection: Connection, email: str, client_ip: str, window: timedelta) -> LoginFailures:
    """How many logins failed within the last `window` for `email` and from `client_ip` (text form)."""
    found = fetch_one(
        connection,
        LoginFailures,
        "SELECT (SELECT count(*) FROM login_failure WHERE email = %(email)s AND failed_at > now() - %(window)s) "
        "AS by_email, "
        "(SELECT count(*) FROM login_failure WHERE client_ip = %(ip)s AND failed_at > now() - %(window)s) AS by_ip",
        {"email": email, "ip": client_ip, "window": window},
    )
    assert found is not None  # an aggregate always answers one row
    return found


def record_login_failure(connection: Connection, email: str, client_ip: str) -> None:
    """Remember one failed login for `email` from `client_ip`, now."""
    connection.execute("INSERT INTO login_failure (email, client_ip) VALUES (%s, %s)", (email, client_ip))


def forget_login_failures(connection: Connection, email: str) -> None:
    """Forget `email`'s failed logins (after it logged in); those counted by address stay."""
    connection.execute("DELETE FROM login_failure WHERE email = %s", (email,))


def forget_old_login_failures(connection: Connection, older_than: timedelta = LOGIN_FAILURES_KEPT) -> int:
    """Forget failed logins older than `older_than`; returns how many went."""
    return connection.execute("DELETE FROM login_failure WHERE failed_at < now() - %s", (older_than,)).rowcount


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_session(connection: Connection, customer_id: int, lifetime: timedelta) -> NewSession:
    """Open a session for `customer_id` that ends `lifetime` from now; returns its two tokens."""
    opened = NewSession(token=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32))
    connection.execute(
        "INSERT INTO shop_session (token_hash, customer_id, csrf_token, expires_at) VALUES (%s, %s, %s, now() + %s)",
        (_token_hash(opened.token), customer_id, opened.csrf_token, lifetime),
    )
    return opened


def session_customer(connection: Connection, token: str) -> SessionCustomer | None:
    """The customer of the live (unexpired) session whose cookie token is `token`, else None."""
    return fetch_one(
        connection,
        SessionCustomer,
        "SELECT s.customer_id, s.csrf_token, k.is_seller, c.display_name, c.email "
        "FROM shop_session s JOIN customer k USING (customer_id) JOIN customer_contact c USING (customer_id) "
        "WHERE s.token_hash = %s AND s.expires_at > now()",
        (_token_hash(token),),
    )


def close_session(connection: Connection, token: str) -> None:
    """End the session whose cookie token is `token` (nothing happens if there is none)."""
    connection.execute("DELETE FROM shop_session WHERE token_hash = %s", (_token_hash(token),))


def remove_expired_sessions(connection: Connection) -> int:
    """Delete the sessions past their expiry; returns how many went."""
    return connection.execute("DELETE FROM shop_session WHERE expires_at < now()").rowcount
