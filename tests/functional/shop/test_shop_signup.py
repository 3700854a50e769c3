"""Signing up confirms the e-mail first (docs/shop.md "Signing up"): attacked as a stranger who
knows someone's address, a careless owner, a client that signs up in bulk."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.db import signups
from shop.app.housekeeping import keep_house
from shop.app.mail import CONFIRM_LINK, MailSink
from shop.app.passwords import fast_passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from tests.functional.shop.shopping import PASSWORD, confirm, log_in, mailbox, sign_up, unique_email

OWNER_PASSWORD = "the owner's own password"
STRANGER_PASSWORD = "a stranger's password"


def signup(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/signup", json={"email": email, "password": password, "country": "US"})


def login_status(client: TestClient, email: str, password: str) -> tuple[int, Any]:
    answer = client.post("/api/login", json={"email": email, "password": password})
    return answer.status_code, answer.json()


def test_an_unconfirmed_sign_up_logs_in_exactly_as_a_wrong_password(client: TestClient) -> None:
    # GIVEN a sign-up whose link was not followed, and a confirmed customer
    pending, customer = unique_email(), unique_email()
    assert signup(client, pending, PASSWORD).status_code == 202
    sign_up(client, customer)
    # WHEN each logs in: the first with its own password, the second with a wrong one
    # THEN the same 401 and the same body
    assert login_status(client, pending, PASSWORD) == login_status(client, customer, "not the password")
    assert login_status(client, pending, PASSWORD)[0] == 401


def test_a_sign_up_mails_a_single_use_link_whose_token_is_stored_only_hashed(
    client: TestClient, pool: ConnectionPool[Any]
) -> None:
    # GIVEN a sign-up
    email = unique_email()
    assert signup(client, email, PASSWORD).status_code == 202
    token = mailbox(client).confirmation_token(email)
    # THEN only the token's SHA-256 is stored
    with pool.connection() as db:
        stored = db.execute("SELECT token_hash FROM signup_request WHERE email = %s", (email,)).fetchall()
    assert stored == [(signups.token_hash(token),)] and token.encode() not in stored[0][0]
    # WHEN the link is followed twice THEN the first makes the account and the second is refused
    first = client.post("/api/signup/confirm", json={"token": token, "password": PASSWORD})
    second = client.post("/api/signup/confirm", json={"token": token, "password": PASSWORD})
    assert (first.status_code, second.status_code) == (200, 401)
    log_in(client, email)


def test_a_sign_up_with_a_customers_email_mails_them_a_notice_and_answers_the_same(client: TestClient) -> None:
    # GIVEN a customer
    email = unique_email()
    sign_up(client, email, password=OWNER_PASSWORD)
    before = len(mailbox(client).to(email))
    # WHEN a stranger signs up with their e-mail, and another with a new one
    taken, new = signup(client, email, STRANGER_PASSWORD), signup(client, unique_email(), STRANGER_PASSWORD)
    # THEN the same answer; the owner gets a notice with no link, and their password holds
    assert (taken.status_code, taken.json()) == (new.status_code, new.json())
    notice = mailbox(client).to(email)[before:]
    assert len(notice) == 1 and "#confirm=" not in notice[0].text and "tried to" in notice[0].subject
    assert login_status(client, email, STRANGER_PASSWORD)[0] == 401
    log_in(client, email, OWNER_PASSWORD)


def test_a_stranger_who_signs_up_first_never_sets_the_password_of_the_account_the_owner_confirms(
    new_client: Callable[[], TestClient],
) -> None:
    # GIVEN a stranger who signs up with someone's e-mail, then the owner signing up too, so that
    # the owner's mailbox holds two links that look alike (the stranger's first)
    stranger, owner, email = new_client(), new_client(), unique_email("owner")
    assert signup(stranger, email, STRANGER_PASSWORD).status_code == 202
    assert signup(owner, email, OWNER_PASSWORD).status_code == 202
    strangers_link = mailbox(owner).to(email)[0]
    strangers_token = CONFIRM_LINK.findall(strangers_link.text)[0]
    # WHEN the owner follows the stranger's link with their own password
    wrong_link = owner.post("/api/signup/confirm", json={"token": strangers_token, "password": OWNER_PASSWORD})
    # THEN it is refused (and no account exists yet)
    assert wrong_link.status_code == 401
    assert login_status(stranger, email, STRANGER_PASSWORD)[0] == 401
    # WHEN the owner follows their own link
    confirm(owner, email, OWNER_PASSWORD)
    # THEN the owner's password logs in, the stranger's does not, and the stranger's link is dead
    log_in(owner, email, OWNER_PASSWORD)
    assert login_status(stranger, email, STRANGER_PASSWORD)[0] == 401
    late = stranger.post("/api/signup/confirm", json={"token": strangers_token, "password": STRANGER_PASSWORD})
    assert late.status_code == 401


def test_a_repeated_sign_up_takes_the_password_of_the_link_confirmed(client: TestClient) -> None:
    # GIVEN an owner who signs up twice (forgot the first password), and confirms the second
    email = unique_email()
    assert signup(client, email, "first password!").status_code == 202
    assert signup(client, email, "second password!").status_code == 202
    confirm(client, email, "second password!")
    # THEN the second password logs in and the first does not
    log_in(client, email, "second password!")
    assert login_status(client, email, "first password!")[0] == 401


def test_an_expired_link_is_refused_and_housekeeping_forgets_it(client: TestClient, pool: ConnectionPool[Any]) -> None:
    # GIVEN a sign-up whose link's day has passed
    email = unique_email()
    assert signup(client, email, PASSWORD).status_code == 202
    token = mailbox(client).confirmation_token(email)
    with pool.connection() as db:
        db.execute("UPDATE signup_request SET expires_at = now() - interval '1 second' WHERE email = %s", (email,))
    # WHEN it is followed THEN refused, and housekeeping forgets it
    assert client.post("/api/signup/confirm", json={"token": token, "password": PASSWORD}).status_code == 401
    with pool.connection() as db:
        swept = keep_house(db)
        assert swept is not None and swept.signups == 1
        assert db.execute("SELECT count(*) FROM signup_request").fetchone() == (0,)


@pytest.mark.parametrize("body", [{"token": "not a token!", "password": "x"}, {"token": "x" * 500, "password": "x"},
                                  {"password": "x"}])  # fmt: skip
def test_a_malformed_confirmation_is_a_422_naming_the_field(client: TestClient, body: dict[str, str]) -> None:
    answer = client.post("/api/signup/confirm", json=body)
    assert answer.status_code == 422
    assert ["body", "token"] in [detail["loc"] for detail in answer.json()["detail"]]


@pytest.fixture
def limited(app_pool: ConnectionPool[Any]) -> TestClient:
    """The shop with at most 3 sign-ups per address per hour; every request from one address."""
    settings = Settings(forwarded_hops=0, signups_per_client=3)
    app = create_app(pool=app_pool, settings=settings, passwords=fast_passwords(), payments=LocalTestProvider(),
                     clicks=Clicks(None), mailer=MailSink())  # fmt: skip
    return TestClient(app, base_url="https://shop.test")


def test_one_address_signs_up_at_most_the_limit_even_in_a_burst(limited: TestClient) -> None:
    # WHEN one address sends 10 sign-ups at once
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: signup(limited, unique_email(f"burst{i}-"), PASSWORD), range(10)))
    # THEN exactly 3 are accepted (counted atomically) and the rest are 429 with Retry-After (at most an hour)
    assert sorted(a.status_code for a in answers) == [202] * 3 + [429] * 7
    refused = next(a for a in answers if a.status_code == 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # AND a refused sign-up mailed nothing
    assert len(mailbox(limited).messages) == 3
