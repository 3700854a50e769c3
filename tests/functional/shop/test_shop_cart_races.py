"""One customer in two tabs at once: a cart is ordered once, and a line put in meanwhile is kept.

Each race is made certain, not likely: a third session holds a product's row (as another
checkout of it would) until the database shows every contender waiting for a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from shop.app.db import orders
from shop.app.errors import ConflictError
from shop.app.settings import Settings
from tests.functional.shop.shopping import customer, post_product

Connect = Callable[[], psycopg.Connection[Any]]


def wait_until_waiting(observer: psycopg.Connection[Any], sessions: list[psycopg.Connection[Any]]) -> None:
    """Until each of `sessions` waits for a lock (pg_locks: a lock not granted), at most 10 s."""
    pids = [session.info.backend_pid for session in sessions]
    deadline = time.monotonic() + 10
    while observer.execute(
        "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)", (pids,)
    ).fetchone() != (len(pids),):
        assert time.monotonic() < deadline, "the sessions never waited on each other"
        time.sleep(0.01)


@contextmanager
def product_row_held(connect: Connect, product_id: int) -> Iterator[psycopg.Connection[Any]]:
    """A third session holds the product's row as a checkout does, until the block ends."""
    holder = connect()
    with holder.transaction():
        holder.execute("SELECT 1 FROM product WHERE product_id = %s FOR NO KEY UPDATE", (product_id,))
        yield holder


def checkouts(connect: Connect, customer_id: int, keys: list[str]) -> tuple[list[threading.Thread], dict[str, Any]]:
    """One checkout per key, each in a thread on its own session: started, with what each answers."""
    sessions = [connect() for _ in keys]
    answers: dict[str, Any] = {}

    def checkout(session: psycopg.Connection[Any], key: str) -> None:
        try:
            answers[key] = orders.place_order(session, customer_id, key).order
        except ConflictError as error:
            answers[key] = error

    threads = [threading.Thread(target=checkout, args=pair) for pair in zip(sessions, keys, strict=True)]
    for thread in threads:
        thread.start()
    wait_until_waiting(connect(), sessions)
    return threads, answers


def lines_of(client: TestClient) -> dict[int, int]:
    return {line["product_id"]: line["quantity"] for line in client.get("/api/cart").json()["lines"]}


def test_one_cart_checked_out_in_two_tabs_at_once_is_one_order(
    new_client: Callable[[], TestClient], session: Connect
) -> None:
    # GIVEN a cart of two shirts and one pair of shoes, and another checkout holding the shirt's row
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    shirt, shoes = post_product(seller, stock=5), post_product(seller, name="Shoes", category="shoes", stock=5)
    me = customer(buyer)
    buyer.put(f"/api/cart/{shirt['product_id']}", json={"quantity": 2})
    buyer.put(f"/api/cart/{shoes['product_id']}", json={"quantity": 1})
    with product_row_held(session, shirt["product_id"]):
        # WHEN two tabs check the cart out with their own keys, both under way together
        threads, answers = checkouts(session, me["customer_id"], ["tab-one-key-0001", "tab-two-key-0002"])
    for thread in threads:
        thread.join(10)
    # THEN one order holds the cart, the other tab is told the cart is empty, and the stock is taken once
    placed = [answer for answer in answers.values() if isinstance(answer, orders.Order)]
    refused = [answer.message for answer in answers.values() if isinstance(answer, ConflictError)]
    assert len(placed) == 1 and refused == ["the cart is empty"]
    assert len(buyer.get("/api/orders").json()["orders"]) == 1
    stock = [buyer.get(f"/api/products/{p['product_id']}").json()["stock"] for p in (shirt, shoes)]
    assert stock == [3, 4] and lines_of(buyer) == {}


def test_checkouts_racing_from_a_start_line_never_order_one_cart_twice(
    new_client: Callable[[], TestClient], session: Connect
) -> None:
    # GIVEN a buyer who fills a cart of three products again and again
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    products = [post_product(seller, stock=100, name=f"Tee {n}") for n in range(3)]
    me = customer(buyer)
    sessions = [session(), session()]
    uncapped = Settings(pending_orders_max=100, reserved_units_per_product_max=100)  # ten unpaid orders of each
    for round_ in range(10):
        for product in products:
            buyer.put(f"/api/cart/{product['product_id']}", json={"quantity": 1})
        start, answers = threading.Barrier(2), list[Any]()

        def checkout(tab: int, start: threading.Barrier = start, answers: list[Any] = answers, r: int = round_) -> None:
            start.wait()
            try:
                answers.append(orders.place_order(sessions[tab], me["customer_id"], f"round-{r}-tab-{tab}", uncapped))
            except ConflictError as error:
                answers.append(error)

        # WHEN two tabs check the cart out at the same instant
        threads = [threading.Thread(target=checkout, args=(tab,)) for tab in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        # THEN every round gives one order and one empty cart
        assert sorted(type(answer).__name__ for answer in answers) == ["ConflictError", "Placed"], round_
    assert [buyer.get(f"/api/products/{p['product_id']}").json()["stock"] for p in products] == [90, 90, 90]


def test_a_line_put_in_the_cart_during_a_checkout_stays_in_the_cart(
    new_client: Callable[[], TestClient], session: Connect
) -> None:
    # GIVEN a cart with one shirt, whose checkout waits on another checkout holding the shirt's row
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    shirt, shoes = post_product(seller, stock=5), post_product(seller, name="Shoes", category="shoes", stock=5)
    me = customer(buyer)
    buyer.put(f"/api/cart/{shirt['product_id']}", json={"quantity": 1})
    with product_row_held(session, shirt["product_id"]):
        threads, answers = checkouts(session, me["customer_id"], ["checkout-key-0001"])
        # WHEN, in another tab meanwhile, the shopper adds shoes and makes it three shirts
        assert buyer.put(f"/api/cart/{shoes['product_id']}", json={"quantity": 1}).status_code == 200
        assert buyer.put(f"/api/cart/{shirt['product_id']}", json={"quantity": 3}).status_code == 200
    threads[0].join(10)
    # THEN the order holds the one shirt it read, and the cart keeps what it did not order
    order = answers["checkout-key-0001"]
    assert [(line.product_id, line.quantity) for line in order.lines] == [(shirt["product_id"], 1)]
    assert lines_of(buyer) == {shirt["product_id"]: 3, shoes["product_id"]: 1}
