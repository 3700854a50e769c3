"""Malformed input against every route of the API, listed from the app itself (a new route is
covered as it is added): NUL, bytes that are not UTF-8, numbers past any column, wrong JSON types,
bodies that are not JSON, wrong content types, and sums past numeric(12, 2). Each gets a 4xx, a
spoiled body field a 422 naming it, never a 5xx; and no bad request spoils the next request's
connection from the pool."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.passwords import fast_passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from tests.functional.shop.shopping import customer, post_product
from tests.functional.shop.test_shop_hostile_text import VALID_BODIES, body_schema, operations


def listed_operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of the app's OpenAPI description, read from an app over a pool never opened."""
    app = create_app(pool=ConnectionPool("", open=False), settings=Settings(), passwords=fast_passwords(),
                     payments=LocalTestProvider(), clicks=Clicks(None))  # fmt: skip
    return list(operations(app))


OPERATIONS = listed_operations()
IDS = [f"{method.upper()} {path}" for method, path, _ in OPERATIONS]
HOSTILE_PATH_VALUES = ["%00", "1%00", "99999999999999999999999999", "-1", "0", "1e3", "%2e%2e", "..%2f..%2fhealthz",
                       "%ff%fe", "%20", "1;DROP TABLE product"]  # fmt: skip
HOSTILE_QUERY_VALUES = ["%00", "99999999999999999999999999", "-99999999999999999999999999", "%ff", "1e999", "[]"]
# Values that no field of any body takes: each must be refused, naming the field.
SPOILS: list[Any] = ["\x00", "x\x00y", 10**30, {"nested": 1}]
BODIES: list[tuple[bytes, str]] = [
    (b"not json", "application/json"),
    (b"", "application/json"),
    (b"\x00", "application/json"),
    (b'{"a": 1', "application/json"),
    (b"[" * 4000 + b"]" * 4000, "application/json"),
    (b"null", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"text"', "application/json"),
    (b"1e999999", "application/json"),
    (b'{"quantity": 1}', "text/plain"),
    (b"quantity=1", "application/x-www-form-urlencoded"),
    (b"--x\r\n\r\n", "multipart/form-data"),
    ('{"quantity": 1}'.encode("utf-16"), "application/json; charset=utf-16"),
    (b"\xff\xfe\xfd", "application/octet-stream"),
]


def send(client: TestClient, method: str, url: str, content: bytes | None, content_type: str) -> Any:
    return client.request(method.upper(), url, content=content,
                          headers={"Content-Type": content_type, "Idempotency-Key": "hostile-key-0001"})  # fmt: skip


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_no_malformed_request_to_a_route_gets_a_server_error(
    shopper: tuple[TestClient, dict[str, str]], method: str, path: str, operation: dict[str, Any]
) -> None:
    # GIVEN a logged-in seller who buys, so that the route gets past its session checks
    client, ids = shopper
    url = path.format(**ids)
    queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"] + ["unknown"]
    requests: list[tuple[str, bytes | None, str]] = []
    # WHEN a path parameter, a query string or the body is malformed
    if "{" in path:
        requests += [(path.format(**dict.fromkeys(ids, value)), None, "application/json")
                     for value in HOSTILE_PATH_VALUES]  # fmt: skip
    requests += [
        (f"{url}?{name}={value}", None, "application/json") for name in queries for value in HOSTILE_QUERY_VALUES
    ]
    requests += [(url, content, kind) for content, kind in BODIES]
    for target, content, kind in requests:
        answer = send(client, method, target, content, kind)
        # THEN the answer is a client error or a success, never a server error, and any body is JSON
        assert answer.status_code < 500, (method, target, content, kind, answer.status_code, answer.text)
        assert not answer.content or answer.json() is not None


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [listed for listed in OPERATIONS if body_schema(listed[2])],
    ids=[name for name, listed in zip(IDS, OPERATIONS, strict=True) if body_schema(listed[2])],
)
def test_every_field_of_every_body_refuses_what_it_cannot_hold_naming_the_field(
    shopper: tuple[TestClient, dict[str, str]], method: str, path: str, operation: dict[str, Any]
) -> None:
    client, ids = shopper
    schema = body_schema(operation)
    assert schema is not None
    valid = VALID_BODIES[schema]
    fields = list(client.app.openapi()["components"]["schemas"][schema]["properties"])  # type: ignore[attr-defined]
    for field in fields:
        for spoil in SPOILS:
            # WHEN one field of an otherwise valid body holds NUL, a number past any column, or an object
            answer = client.request(method.upper(), path.format(**ids), json={**valid, field: spoil},
                                    headers={"Idempotency-Key": "hostile-key-0001"})  # fmt: skip
            # THEN 422, naming the field
            assert answer.status_code == 422, (method, path, field, spoil, answer.status_code, answer.text)
            assert ["body", field] in [error["loc"][:2] for error in answer.json()["detail"]], answer.text


def test_an_order_total_past_what_the_shop_keeps_is_refused_naming_the_total(
    new_client: Callable[[], TestClient],
) -> None:
    # GIVEN a cart of eleven products at the highest price, ten of each (the per-product cap)
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    products = [post_product(seller, name=f"Gold {n}", price="99999999.99", stock=100) for n in range(11)]
    customer(buyer)
    for product in products:
        assert buyer.put(f"/api/cart/{product['product_id']}", json={"quantity": 10}).status_code == 200
    # WHEN it is ordered (a total past numeric(12, 2))
    answer = buyer.post("/api/orders", headers={"Idempotency-Key": "gold-key-0001"})
    # THEN 422 naming the total, nothing reserved, the cart kept
    assert answer.status_code == 422 and answer.json()["message"].startswith("total:"), answer.text
    assert seller.get(f"/api/products/{products[0]['product_id']}").json()["stock"] == 100
    assert len(buyer.get("/api/cart").json()["lines"]) == 11


def test_bad_requests_never_spoil_another_users_request_or_a_pooled_connection(
    shop_app: FastAPI, new_client: Callable[[], TestClient], pool: ConnectionPool[Any]
) -> None:
    # GIVEN a shopper browsing and an attacker sending what the database refuses, at once
    seller, attacker = new_client(), TestClient(shop_app, base_url="https://shop.test", raise_server_exceptions=False)
    customer(seller, seller=True)
    product = post_product(seller)
    customer(attacker, seller=True)
    bad = [("POST", "/api/products", {"name": "x\x00", "category": "tops", "price": "1", "stock": 1}),
           ("POST", "/api/login", {"email": "a\x00@b.cc", "password": "x\x00"}),
           ("PATCH", f"/api/products/{product['product_id']}", {"price": "1e999"}),
           ("GET", "/api/products?q=%00&cursor=%00", None)]  # fmt: skip
    good: list[int] = []

    def browse() -> None:
        for _ in range(20):
            good.append(seller.get(f"/api/products/{product['product_id']}").status_code)

    def attack() -> None:
        for _ in range(10):
            for method, url, body in bad:
                assert attacker.request(method, url, json=body).status_code < 500

    threads = [threading.Thread(target=browse), threading.Thread(target=attack), threading.Thread(target=attack)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # THEN every good request was answered, and every connection in the pool is idle and usable
    assert good == [200] * 20
    with ExitStack() as stack:
        connections = [stack.enter_context(pool.connection()) for _ in range(pool.max_size)]
        for connection in connections:
            assert connection.info.transaction_status == TransactionStatus.IDLE
            assert connection.execute("SELECT 1").fetchone() == (1,)
