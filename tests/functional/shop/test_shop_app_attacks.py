"""The app tier's findings of issue 14, attacked over HTTP through the web tier as a stranger would
(`running_shop(...).web_url`): payment keys replayed and reused across orders and customers,
concurrent password guesses, stock hoarding, and malformed input that must neither fail nor spread."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from local_stack.shop import LocalShop, running_shop
from shop.app.passwords import fast_passwords
from tests.functional.shop.shopping import DECLINED_CARD, GOOD_CARD, PASSWORD, follow_link, unique_email
from tests.functional.shop.test_shop_login_limits import CountingPasswords

pytestmark = pytest.mark.server


@pytest.fixture
def passwords() -> CountingPasswords:
    return CountingPasswords(fast_passwords())


@pytest.fixture
def local_shop(postgres_dsn: str, shop_schema: str, passwords: CountingPasswords) -> Iterator[LocalShop]:
    with running_shop(postgres_dsn, search_path=shop_schema, passwords=passwords, housekeeping_seconds=3600) as shop:  # type: ignore[arg-type] # counts the app's Passwords
        yield shop


class Browser:
    """A browser of its own (its own cookies) on the storefront's address."""

    def __init__(self, shop: LocalShop) -> None:
        self.http = httpx.Client(base_url=shop.web_url, timeout=30)
        self.mailbox = shop.mailbox
        self.http.get("/api/categories")  # a first visit: every later request carries a cookie of its own

    def sign_up_and_log_in(self, *, seller: bool = False) -> dict[str, Any]:
        email = unique_email("seller" if seller else "buyer")
        body = {"email": email, "password": PASSWORD, "country": "US", "seller": seller}
        assert self.http.post("/api/signup", json=body).status_code == 202
        follow_link(self.http, self.mailbox, email)
        me = self.http.post("/api/login", json={"email": email, "password": PASSWORD})
        assert me.status_code == 200, me.text
        self.http.headers["X-CSRF-Token"] = me.json()["csrf_token"]
        return {**me.json(), "email": email}

    def post_product(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Linen shirt", "category": "tops", "price": "39.90", "stock": 5, **fields}
        answer = self.http.post("/api/products", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json()["product"])

    def order(self, product_id: int, key: str, quantity: int = 1) -> httpx.Response:
        assert self.http.put(f"/api/cart/{product_id}", json={"quantity": quantity}).status_code == 200
        return self.http.post("/api/orders", headers={"Idempotency-Key": key})

    def pay(self, order_id: str, card: dict[str, Any], key: str) -> httpx.Response:
        return self.http.post(f"/api/orders/{order_id}/payment", json=card, headers={"Idempotency-Key": key})


def raw_get(url: str, target: str) -> int:
    """GET `target` exactly as written (httpx would tidy percent-escapes and dot segments); the status."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request("GET", target)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_payment_key_replayed_and_reused_across_orders_and_customers_pays_one_order(local_shop: LocalShop) -> None:
    # GIVEN a seller, and two buyers with three pending orders between them
    seller, first, second = Browser(local_shop), Browser(local_shop), Browser(local_shop)
    seller.sign_up_and_log_in(seller=True)
    product = seller.post_product(stock=10)
    first.sign_up_and_log_in()
    second.sign_up_and_log_in()
    orders = [first.order(product["product_id"], "order-a-0001").json(),
              first.order(product["product_id"], "order-a-0002").json(),
              second.order(product["product_id"], "order-b-0001").json()]  # fmt: skip
    # WHEN the first order is paid with a key, replayed, replayed with another card, and the key reused
    paid = first.pay(orders[0]["order_id"], GOOD_CARD, "shared-pay-key")
    replayed = first.pay(orders[0]["order_id"], GOOD_CARD, "shared-pay-key")
    other_card = first.pay(orders[0]["order_id"], DECLINED_CARD, "shared-pay-key")
    other_order = first.pay(orders[1]["order_id"], GOOD_CARD, "shared-pay-key")
    other_customer = second.pay(orders[2]["order_id"], GOOD_CARD, "shared-pay-key")
    # THEN one payment: the replay answers it again, every reuse is refused and pays nothing
    assert (paid.status_code, replayed.status_code, replayed.json()) == (201, 201, paid.json())
    for refused in (other_card, other_order, other_customer):
        assert refused.status_code == 422 and refused.json()["error"] == "idempotency_key_reused", refused.text
    assert first.http.get(f"/api/orders/{orders[1]['order_id']}").json()["status"] == "pending"
    assert second.http.get(f"/api/orders/{orders[2]['order_id']}").json()["status"] == "pending"
    assert local_shop.payments.calls == 1


def test_a_burst_of_concurrent_guesses_gets_no_more_passwords_checked_than_the_limit(
    local_shop: LocalShop, passwords: CountingPasswords
) -> None:
    # GIVEN an account
    owner = Browser(local_shop)
    email = owner.sign_up_and_log_in()["email"]
    checked_before = passwords.verified
    guessers = [Browser(local_shop) for _ in range(20)]
    start, statuses = threading.Barrier(len(guessers)), list[int]()

    def guess(browser: Browser, n: int) -> None:
        start.wait()
        statuses.append(browser.http.post("/api/login", json={"email": email, "password": f"guess {n}"}).status_code)

    # WHEN 20 wrong passwords arrive at once
    threads = [threading.Thread(target=guess, args=(browser, n)) for n, browser in enumerate(guessers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # THEN at most five were checked; the others were held back (429), none failed
    assert passwords.verified - checked_before <= 5, sorted(statuses)
    assert set(statuses) <= {401, 429} and statuses.count(401) == passwords.verified - checked_before


def test_one_account_cannot_hoard_a_products_stock(local_shop: LocalShop) -> None:
    # GIVEN a product with 400 units
    seller, hoarder = Browser(local_shop), Browser(local_shop)
    seller.sign_up_and_log_in(seller=True)
    product = seller.post_product(stock=400)
    hoarder.sign_up_and_log_in()
    # WHEN one free account orders 99 units again and again without paying
    for n in range(4):
        answer = hoarder.order(product["product_id"], f"hoard-key-{n:04}", quantity=99)
        # THEN each is refused, naming the cap
        assert answer.status_code == 409 and "reserved_units_per_product_max" in answer.json()["message"]
    assert seller.http.get(f"/api/products/{product['product_id']}").json()["stock"] == 400


def test_malformed_input_gets_a_client_error_and_never_spoils_another_users_request(local_shop: LocalShop) -> None:
    # GIVEN a shopper browsing while a stranger sends surrogates, NUL and numbers past any column
    shopper, stranger = Browser(local_shop), Browser(local_shop)
    good, bad = list[int](), list[int]()
    hostile_bodies = [b'{"email": "a@b.cc", "password": "x\\ud800"}', b'{"email": "a\\u0000@b.cc", "password": "x"}',
                      b'{"email": 1e999, "password": []}', b"\xff\xfe not json"]  # fmt: skip

    def browse() -> None:
        for _ in range(20):
            good.append(shopper.http.get("/api/products").status_code)

    def attack() -> None:
        for _ in range(5):
            for body in hostile_bodies:
                sent = stranger.http.post("/api/login", content=body, headers={"Content-Type": "application/json"})
                bad.append(sent.status_code)
            for target in (
                "/api/%00",
                "/api/products/%00",
                "/api/products?q=%00",
                "/api/products/99999999999999999999",
            ):
                bad.append(raw_get(local_shop.web_url, target))

    threads = [threading.Thread(target=browse), threading.Thread(target=attack)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # THEN every hostile request got a client error, and every one of the shopper's was answered
    assert bad and [status for status in bad if not 400 <= status < 500] == []
    assert good == [200] * 20
