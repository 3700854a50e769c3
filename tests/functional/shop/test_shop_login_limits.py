"""Logging in under attack: every attempt is counted before its password is checked, so that a
concurrent burst gets no more guesses than one after another; a guesser is slowed by delays that
double (OWASP's exponential lockout, per e-mail and address), and cannot lock the owner out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.db.accounts import LoginHistory, login_wait
from shop.app.passwords import Passwords
from shop.app.settings import Settings
from tests.functional.shop.shopping import PASSWORD, sign_up, unique_email

OWNER, GUESSER = "203.0.113.7", "198.51.100.66"


@pytest.fixture
def settings() -> Settings:
    # The client's address from X-Forwarded-For (one trusted proxy), so that a test plays several addresses.
    return Settings(forwarded_hops=1)


def attempt(client: TestClient, email: str, password: str, address: str) -> Any:
    return client.post("/api/login", json={"email": email, "password": password},
                       headers={"X-Forwarded-For": address})  # fmt: skip


def age_failures(pool: ConnectionPool[Any], by: timedelta) -> None:
    """Every failed login happened `by` earlier (time passing, without waiting for it)."""
    with pool.connection() as db:
        db.execute("UPDATE login_failure SET failed_at = failed_at - %s", (by,))


class CountingPasswords:
    """The app's password checks, counted: how many guesses were really tried."""

    def __init__(self, inner: Passwords) -> None:
        self.inner, self.verified, self._lock = inner, 0, threading.Lock()

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        with self._lock:
            self.verified += 1
        return self.inner.verify(password_hash, password)


def history(**given: Any) -> LoginHistory:
    return LoginHistory(**{"pair_failures": 0, "pair_last_age": None, "email_limit_age": None,
                           "client_limit_age": None, "known_client": False, **given})  # fmt: skip


def test_the_delay_doubles_with_each_failure_past_the_free_ones_up_to_the_most() -> None:
    settings = Settings()
    just_now = timedelta(0)
    waits = [login_wait(history(pair_failures=n, pair_last_age=just_now), settings) for n in range(4, 20)]
    assert waits[:5] == [timedelta(0), timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4),
                         timedelta(seconds=8)]  # fmt: skip
    assert waits[-1] == settings.login_delay_max
    # time since the last failure counts against the delay
    assert login_wait(history(pair_failures=7, pair_last_age=timedelta(seconds=3)), settings) == timedelta(seconds=1)


def test_the_email_limit_holds_back_unknown_addresses_only() -> None:
    settings = Settings()
    full = history(email_limit_age=timedelta(minutes=5))
    assert login_wait(full, settings) == timedelta(minutes=10)
    assert login_wait(history(email_limit_age=timedelta(minutes=5), known_client=True), settings) == timedelta(0)


def test_a_concurrent_burst_of_wrong_passwords_gets_no_more_checked_than_the_limit(
    shop_app: FastAPI, new_client: Callable[[], TestClient], settings: Settings
) -> None:
    # GIVEN an account, the app's password checks counted, and a first delay longer than any burst takes
    email = unique_email()
    sign_up(new_client(), email)
    services = shop_app.state.services
    passwords = CountingPasswords(services.passwords)
    shop_app.state.services = replace(services, passwords=passwords,
                                      settings=replace(settings, login_delay_first=timedelta(minutes=1)))  # fmt: skip
    # WHEN 20 wrong passwords arrive at once from one address, each on its own connection
    start, answers = threading.Barrier(20), []

    def guess(n: int) -> None:
        client = new_client()
        start.wait()
        answers.append(attempt(client, email, f"wrong guess {n}", GUESSER))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # THEN at most the free attempts were checked; the rest were told when to come back
    statuses = sorted(answer.status_code for answer in answers)
    assert passwords.verified <= settings.login_failures_before_delay, statuses
    assert statuses.count(401) == passwords.verified and statuses.count(429) == 20 - passwords.verified
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)


def test_a_guesser_waits_twice_as_long_after_each_failure(
    client: TestClient, pool: ConnectionPool[Any], settings: Settings
) -> None:
    # GIVEN an account a guesser has failed 5 times from one address
    email = unique_email()
    sign_up(client, email)
    for _ in range(settings.login_failures_before_delay):
        assert attempt(client, email, "wrong guess", GUESSER).status_code == 401
    retry_afters = []
    for _ in range(4):
        # WHEN the guesser tries at once THEN 429 with Retry-After; once that has passed, the guess is heard
        held = attempt(client, email, "wrong guess", GUESSER)
        assert held.status_code == 429
        retry_afters.append(int(held.headers["retry-after"]))
        age_failures(pool, timedelta(seconds=retry_afters[-1]))
        assert attempt(client, email, "wrong guess", GUESSER).status_code == 401
    # THEN the waits double
    assert retry_afters == [1, 2, 4, 8]


def test_the_owner_logs_in_from_their_own_address_while_a_stranger_guesses(
    client: TestClient, pool: ConnectionPool[Any], settings: Settings
) -> None:
    # GIVEN an owner who logged in from their address before, and a stranger's 5 wrong guesses elsewhere
    email = unique_email()
    sign_up(client, email)
    assert attempt(client, email, PASSWORD, OWNER).status_code == 200
    for _ in range(settings.login_failures_before_delay + 1):
        attempt(client, email, "wrong guess", GUESSER)
    assert attempt(client, email, PASSWORD, GUESSER).status_code == 429  # the stranger is held back
    # WHEN the owner logs in with the right password from their own address THEN they are in
    assert attempt(client, email, PASSWORD, OWNER).status_code == 200


def test_guesses_spread_over_many_addresses_hold_back_strangers_but_not_the_owner(
    client: TestClient, settings: Settings
) -> None:
    # GIVEN an owner known at their address, and wrong guesses from as many addresses as the e-mail limit
    email = unique_email()
    sign_up(client, email)
    assert attempt(client, email, PASSWORD, OWNER).status_code == 200
    for n in range(settings.login_failures_per_email):
        assert attempt(client, email, "wrong guess", f"192.0.2.{n + 1}").status_code == 401
    # WHEN yet another new address tries THEN it is held back for the window's rest
    held = attempt(client, email, PASSWORD, "192.0.2.250")
    assert held.status_code == 429 and 0 < int(held.headers["retry-after"]) <= 900
    # while the owner, from their own address, logs in
    assert attempt(client, email, PASSWORD, OWNER).status_code == 200


def test_one_address_trying_many_accounts_is_held_back(client: TestClient, settings: Settings) -> None:
    # GIVEN one address that failed logins to as many e-mails as its limit
    for n in range(settings.login_failures_per_client):
        assert attempt(client, f"nobody{n}@example.com", "wrong guess", GUESSER).status_code == 401
    # WHEN it tries another THEN 429, with Retry-After; another address is heard
    held = attempt(client, "nobody-else@example.com", "wrong guess", GUESSER)
    assert held.status_code == 429 and int(held.headers["retry-after"]) > 0
    assert attempt(client, "nobody-else@example.com", "wrong guess", OWNER).status_code == 401


def test_a_successful_login_clears_the_pairs_failures(client: TestClient, settings: Settings) -> None:
    # GIVEN an owner who mistyped 4 times WHEN they log in THEN their next typo is not delayed
    email = unique_email()
    sign_up(client, email)
    for _ in range(settings.login_failures_before_delay - 1):
        attempt(client, email, "typo typo", OWNER)
    assert attempt(client, email, PASSWORD, OWNER).status_code == 200
    for _ in range(settings.login_failures_before_delay):
        assert attempt(client, email, "typo typo", OWNER).status_code == 401
