"""Hostile input against the shop's API: SQL injection, oversized bodies, other people's ids, forged sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from tests.functional.shop.shopping import GOOD_CARD, an_order, customer, order_of, post_product, unique_email

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE product; --",
    "1) UNION SELECT password_hash FROM customer_contact --",
    "\\'; SELECT pg_sleep(5); --",
    "%' AND 1=1 --",
    "tops' OR category <> '",
    "a:* | !b & (c",
    "\x00",
]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_injection_strings_in_the_product_list_are_only_text(
    client: TestClient, pool: ConnectionPool[Any], hostile: str
) -> None:
    customer(client, seller=True)
    post_product(client, name="Plain tee", category="tops")
    for params in ({"q": hostile}, {"category": hostile}, {"cursor": hostile}):
        answer = client.get("/api/products", params=params)
        assert answer.status_code in (200, 422), (params, answer.status_code, answer.text)
        if answer.status_code == 200:
            assert answer.json()["items"] == []  # matched nothing, and certainly not everything
    with pool.connection() as db:
        assert db.execute("SELECT count(*) FROM product").fetchone() == (1,)


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_injection_strings_in_accounts_and_products_are_stored_or_refused_never_run(
    new_client: Callable[[], TestClient], pool: ConnectionPool[Any], hostile: str
) -> None:
    client = new_client()
    login = client.post("/api/login", json={"email": f"{hostile}@example.com", "password": hostile})
    assert login.status_code in (401, 422)
    signup = client.post("/api/signup", json={"email": hostile, "password": "x" * 12, "country": "US"})
    assert signup.status_code == 422
    customer(client, seller=True)
    posted = client.post("/api/products", json={"name": hostile, "description": hostile, "category": "tops",
                                                "price": "1.00", "stock": 1})  # fmt: skip
    if "\x00" in hostile:
        assert posted.status_code == 422  # PostgreSQL's text cannot hold NUL: refused, not a server error
        return
    assert posted.status_code == 201
    assert client.get(f"/api/products/{posted.json()['product']['product_id']}").json()["name"] == hostile
    with pool.connection() as db:
        assert db.execute("SELECT count(*) FROM customer_contact").fetchone() == (1,)


def test_an_oversized_body_is_refused_before_it_is_read(client: TestClient) -> None:
    customer(client, seller=True)
    huge = {"name": "x", "category": "tops", "price": "1", "stock": 1, "description": "y" * 200_000}
    assert client.post("/api/products", json=huge).status_code == 413


def test_an_oversized_streamed_body_without_a_length_is_refused(client: TestClient) -> None:
    customer(client, seller=True)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "x", "category": "tops", "price": "1", "stock": 1, "description": "'
        for _ in range(100):
            yield b"y" * 1024
        yield b'"}'

    answer = client.post("/api/products", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


def test_a_long_field_within_the_body_limit_is_refused_by_validation(client: TestClient) -> None:
    customer(client, seller=True)
    answer = client.post("/api/products", json={"name": "n" * 201, "category": "tops", "price": "1", "stock": 1})
    assert answer.status_code == 422


def test_unknown_fields_and_wrong_types_are_refused(client: TestClient) -> None:
    email = unique_email()
    body = {"email": email, "password": "long enough password", "country": "US"}
    assert client.post("/api/signup", json={**body, "is_test_account": True}).status_code == 422
    assert client.post("/api/signup", json={**body, "seller": "yes please"}).status_code == 422
    assert (
        client.post("/api/signup", content=b"not json", headers={"Content-Type": "application/json"}).status_code == 422
    )


@pytest.mark.parametrize("product_id", ["0", "-1", "99999999999999999999999", "1 OR 1=1", "1;DROP"])
def test_hostile_ids_in_paths_are_refused(client: TestClient, product_id: str) -> None:
    assert client.get(f"/api/products/{product_id}").status_code in (404, 422)


def test_nobody_reads_or_changes_another_customers_order(new_client: Callable[[], TestClient]) -> None:
    seller, owner, intruder = new_client(), new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller)
    customer(owner)
    customer(intruder)
    order = order_of(owner, product["product_id"])
    order_url = f"/api/orders/{order['order_id']}"
    assert intruder.get(order_url).status_code == 404
    assert intruder.post(f"{order_url}/cancel").status_code == 404
    paid = intruder.post(f"{order_url}/payment", json=GOOD_CARD, headers={"Idempotency-Key": "intruder-key"})
    assert paid.status_code == 404
    assert intruder.get("/api/orders").json()["orders"] == []
    # The owner pays; the intruder cannot review the owner's purchase, nor replay the owner's payment key.
    owner.post(f"{order_url}/payment", json=GOOD_CARD, headers={"Idempotency-Key": "owner-pay-key"})
    purchase_id = order["lines"][0]["purchase_id"]
    assert intruder.post(f"/api/purchases/{purchase_id}/review", json={"rating": 1}).status_code == 404
    replay = intruder.post(f"{order_url}/payment", json=GOOD_CARD, headers={"Idempotency-Key": "owner-pay-key"})
    assert replay.status_code == 404
    assert owner.get(order_url).json()["status"] == "paid"


def test_a_forged_or_foreign_session_cookie_is_no_session(new_client: Callable[[], TestClient]) -> None:
    client = new_client()
    for forged in ("x" * 43, "' OR 1=1 --", "a" * 5000):
        client.cookies.set("shop_session", forged, domain="shop.test")
        assert client.get("/api/me").status_code == 401


def test_ordering_and_paying_need_a_session_and_an_idempotency_key(new_client: Callable[[], TestClient]) -> None:
    anonymous, buyer = new_client(), new_client()
    assert anonymous.post("/api/orders", headers={"Idempotency-Key": "anon-key-01"}).status_code == 401
    customer(buyer)
    assert buyer.post("/api/orders").status_code == 422  # no Idempotency-Key
    assert buyer.post("/api/orders", headers={"Idempotency-Key": "short"}).status_code == 422
    assert buyer.post("/api/orders", headers={"Idempotency-Key": "bad key with spaces"}).status_code == 422


def test_a_card_number_that_fails_luhn_never_reaches_the_provider(
    new_client: Callable[[], TestClient], payments: Any
) -> None:
    buyer, _, order = an_order(new_client)
    bad = {**GOOD_CARD, "card_number": "4242424242424241"}
    answer = buyer.post(f"/api/orders/{order['order_id']}/payment", json=bad, headers={"Idempotency-Key": "luhn-key-1"})
    assert answer.status_code == 402 and answer.json()["decline_reason"] == "invalid_card_number"
    assert payments.calls == 0


def test_a_cross_site_form_cannot_post_json_as_plain_text(client: TestClient) -> None:
    # A form on another site can send text/plain without a preflight; the shop reads only JSON bodies.
    email = unique_email()
    body = f'{{"email": "{email}", "password": "long enough password", "country": "US"}}'
    answer = client.post("/api/signup", content=body.encode(), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 422
    login = client.post(
        "/api/login", content=b'{"email": "a@b.cc", "password": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert login.status_code == 422
