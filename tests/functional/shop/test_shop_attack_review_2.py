"""Attack review 2 of the sign-up, the strict bodies and the body middleware (docs/shop.md
"Signing up", "Holding under attack"): each test is a fault found by a stranger, failing until fixed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.passwords import fast_passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from tests.functional.shop.shopping import PASSWORD, mailbox, unique_email

SIGNUP_PREFIX = b'{"email": "a@example.com", "password": "0123456789", "country": "US", '


@pytest.mark.parametrize(
    "body",
    [
        SIGNUP_PREFIX + b'"birth_year": ' + b"9" * 5000 + b"}",  # valid JSON: more digits than Python's int takes
        SIGNUP_PREFIX + b'"display_name": "\xff\xfe"}',  # not UTF-8
    ],
    ids=["5000-digit integer", "not UTF-8"],
)
def test_a_body_fastapi_cannot_parse_gets_the_documented_422_naming_body(client: TestClient, body: bytes) -> None:
    # GIVEN a sign-up body FastAPI's json.loads fails on with a ValueError that is not a JSONDecodeError
    # WHEN it is posted as JSON
    answer = client.post("/api/signup", content=body, headers={"Content-Type": "application/json"})
    # THEN the documented 422 naming the body or the field, never a 400 of another shape nor a 500
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][0] == "body"


def test_the_sign_up_limit_counts_one_ipv6_client_once_not_each_of_its_addresses(
    app_pool: ConnectionPool[Any],
) -> None:
    # GIVEN a shop behind one trusted proxy that takes 2 sign-ups per client address
    settings = Settings(forwarded_hops=1, signups_per_client=2)
    app = create_app(pool=app_pool, settings=settings, passwords=fast_passwords(), payments=LocalTestProvider(),
                     clicks=Clicks(None))  # fmt: skip
    victim = unique_email("victim")
    with TestClient(app, base_url="https://shop.test") as client:
        # WHEN one IPv6 client (one /64, as any ISP hands out) signs a victim's address up from
        # 6 of its 2^64 addresses
        statuses = [
            client.post(
                "/api/signup",
                json={"email": victim, "password": PASSWORD, "country": "US"},
                headers={"X-Forwarded-For": f"2001:db8:1:2::{n:x}"},
            ).status_code
            for n in range(1, 7)
        ]
    # THEN the limit holds it back after 2, as one client (else the victim's mailbox is flooded at will)
    assert statuses == [202, 202, 429, 429, 429, 429]


def test_wrong_passwords_at_one_confirmation_link_are_limited_as_logins_are(client: TestClient) -> None:
    # GIVEN an attacker's own sign-up and its link's token (a valid token is free to get)
    email = unique_email("attacker")
    assert client.post("/api/signup", json={"email": email, "password": PASSWORD, "country": "US"}).status_code == 202
    token = mailbox(client).confirmation_token(email)
    # WHEN it posts that token with a wrong password again and again: each costs the shop an
    # argon2 verification (only an unknown token costs none), and nothing counts them
    statuses = [
        client.post("/api/signup/confirm", json={"token": token, "password": f"wrong {n}"}).status_code
        for n in range(30)
    ]
    # THEN, as with logins (login_failures_before_delay, login_failures_per_email), it is held
    # back (429) or the link dies, well before 30 hashes
    assert statuses[-1] != 401, statuses


def test_two_links_of_one_email_confirmed_at_once_make_one_account_and_no_server_error(shop_app: FastAPI) -> None:
    # GIVEN e-mails each signed up twice (a lost mail: two links, two passwords)
    owner = TestClient(shop_app, base_url="https://shop.test", raise_server_exceptions=False)
    tabs = [TestClient(shop_app, base_url="https://shop.test", raise_server_exceptions=False) for _ in range(2)]
    outcomes = []
    for _ in range(20):
        email, links = unique_email(), []
        for password in ("the first password", "the second password"):
            signed = owner.post("/api/signup", json={"email": email, "password": password, "country": "US"})
            assert signed.status_code == 202
            links.append((mailbox(owner).confirmation_token(email), password))
        # WHEN both links are confirmed at the same moment (two tabs, or an owner and a mail scanner)
        with ThreadPoolExecutor(2) as pool:
            answers = [
                pool.submit(tab.post, "/api/signup/confirm", json={"token": token, "password": password})
                for tab, (token, password) in zip(tabs, links, strict=True)
            ]
            statuses = [answer.result().status_code for answer in answers]
        outcomes.append(tuple(sorted(statuses)))
    # THEN one wins and the other gets the documented 401, every time: confirm_signup deletes its own
    # row, inserts the contact, then deletes the e-mail's other rows, so two such transactions lock
    # each other's rows in opposite order and PostgreSQL's deadlock detector aborts one (a 500)
    assert set(outcomes) == {(200, 401)}, outcomes
