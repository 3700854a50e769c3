"""Customers, their sessions and their logins (tables customer, customer_contact, shop_session,
login_failure, login_known_client).

A session's cookie carries a random token; only its SHA-256 is stored, so a copy of the
table logs nobody in. Sessions and failed logins are counted and expire by the database's
clock (`now()`, UTC).
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
from shop.app.settings import Settings

LOGIN_FAILURES_KEPT = timedelta(days=1)
"""How long a failed login is remembered (longer than any rate-limit window)."""
KNOWN_CLIENT_FOR = timedelta(days=30)
"""How long an address an e-mail logged in from stays known to it."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login checks: the customer, their argon2 password hash, their name and role."""

    customer_id: int
    password_hash: str
    display_name: str | None
    is_seller: bool


@dataclass(frozen=True, slots=True)
class LoginHistory:
    """What the login limits read of an e-mail's and an address's failed logins: the pair's failures
    (within LOGIN_FAILURES_KEPT) and the age of its last; the age of the failure that keeps the
    e-mail's (and the address's) count at its limit within the window (None: under the limit); and
    whether the e-mail logged in from this address within KNOWN_CLIENT_FOR."""

    pair_failures: int
    pair_last_age: timedelta | None
    email_limit_age: timedelta | None
    client_limit_age: timedelta | None
    known_client: bool


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


def login_wait(history: LoginHistory, settings: Settings) -> timedelta:
    """How long the next login attempt from this address to this e-mail must wait (zero: it is heard now).

    - the pair (e-mail, address): `login_failures_before_delay` failures free, then each next attempt
      waits `login_delay_first`, doubled for each further failure, at most `login_delay_max`, from the
      pair's last failure (OWASP's exponential lockout, per address so that it slows only the guesser);
    - the e-mail, from an address it never logged in from (not `known_client`): at most
      `login_failures_per_email` failures per `login_window` (guesses spread over many addresses);
    - the address, to any e-mail: at most `login_failures_per_client` per `login_window` (one address
      trying many accounts).
    """
    waits = [timedelta(0)]
    over = history.pair_failures - settings.login_failures_before_delay
    if over >= 0 and history.pair_last_age is not None:
        delay = min(settings.login_delay_max, settings.login_delay_first * 2 ** min(over, 32))
        waits.append(delay - history.pair_last_age)
    if history.email_limit_age is not None and not history.known_client:
        waits.append(settings.login_window - history.email_limit_age)
    if history.client_limit_age is not None:
        waits.append(settings.login_window - history.client_limit_age)
    return max(waits)


def reserve_login_attempt(connection: Connection, email: str, client_ip: str, settings: Settings) -> None:
    """Count a login attempt of `email` from `client_ip` (text form) before its password is checked:
    recorded as failed, now, unless a limit (`login_wait`) holds it back.

    The count and the record are one transaction under the e-mail's and the address's locks, so
    that concurrent attempts each see those before them: a burst gets no more passwords checked
    than one attempt after another would. `login_succeeded` takes the record back. Raises
    TooManyAttemptsError (nothing recorded) with the seconds until the attempt would be heard.
    """
    with connection.transaction():
        transaction_lock(connection, Lock.LOGIN_EMAIL, email)
        transaction_lock(connection, Lock.LOGIN_CLIENT, client_ip)
        history = fetch_one(
            connection,
            LoginHistory,
            "SELECT (SELECT count(*) FROM login_failure WHERE email = %(email)s AND client_ip = %(ip)s "
            "AND failed_at > now() - %(kept)s) AS pair_failures, "
            "(SELECT now() - max(failed_at) FROM login_failure WHERE email = %(email)s AND client_ip = %(ip)s "
            "AND failed_at > now() - %(kept)s) AS pair_last_age, "
            # The age of the failure whose leaving the window brings the count under the limit.
            "(SELECT now() - failed_at FROM login_failure WHERE email = %(email)s AND failed_at > now() - %(window)s "
            "ORDER BY failed_at DESC OFFSET %(email_offset)s LIMIT 1) AS email_limit_age, "
            "(SELECT now() - failed_at FROM login_failure WHERE client_ip = %(ip)s AND failed_at > now() - %(window)s "
            "ORDER BY failed_at DESC OFFSET %(client_offset)s LIMIT 1) AS client_limit_age, "
            "EXISTS (SELECT 1 FROM login_known_client WHERE email = %(email)s AND client_ip = %(ip)s "
            "AND last_login_at > now() - %(known)s) AS known_client",
            {"email": email, "ip": client_ip, "kept": LOGIN_FAILURES_KEPT, "window": settings.login_window,
             "email_offset": max(0, settings.login_failures_per_email - 1),
             "client_offset": max(0, settings.login_failures_per_client - 1), "known": KNOWN_CLIENT_FOR},
        )  # fmt: skip
        assert history is not None  # scalar subqueries always answer one row
        wait = login_wait(history, settings)
        if wait > timedelta(0):
            raise TooManyAttemptsError("too many failed logins; try again later", math.ceil(wait.total_seconds()))
        connection.execute("INSERT INTO login_failure (email, client_ip) VALUES (%s, %s)", (email, client_ip))


def login_succeeded(connection: Connection, email: str, client_ip: str) -> None:
    """`email` logged in from `client_ip`: the pair's failures (its reserved attempt among them) are
    forgotten and the address is known to the e-mail for KNOWN_CLIENT_FOR; failures from other
    addresses stay counted."""
    with connection.transaction():
        connection.execute("DELETE FROM login_failure WHERE email = %s AND client_ip = %s", (email, client_ip))
        connection.execute(
            "INSERT INTO login_known_client (email, client_ip) VALUES (%s, %s) "
            "ON CONFLICT (email, client_ip) DO UPDATE SET last_login_at = now()",
            (email, client_ip),
        )


def forget_old_login_failures(connection: Connection, older_than: timedelta = LOGIN_FAILURES_KEPT) -> int:
    """Forget failed logins older than `older_than`, and addresses not logged in from for KNOWN_CLIENT_FOR;
    returns how many failures went."""
    connection.execute("DELETE FROM login_known_client WHERE last_login_at < now() - %s", (KNOWN_CLIENT_FOR,))
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
