"""Simulated shoppers for the demo: the shop runs on loopback and people use it through the web tier.

`run_shoppers(dsn, producer, n)` starts both tiers over the database at `dsn` (migrating it),
prints the storefront's URL, lets a few sellers post a catalogue and `n` shoppers sign up,
follow the link mailed to them (the local shop's mailbox) to confirm their e-mail, log in,
browse, search, put things in their carts, order, pay (some with a card that is declined
first) and review what they bought; every request goes into the clickstream through
`producer`. The orders are in the database's purchase table, stamped now.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from local_stack.shop import running_shop
from shop.app.clicks import Producer
from shop.app.mail import MailSink
from shop.app.settings import Settings
from shoplake import business

# What sellers call their products, by category of `business.CATEGORIES`; a category without names here
# is sold under its own name.
PRODUCT_NAMES = {
    "tops": ("Linen shirt", "Striped tee", "Silk blouse", "Oxford shirt"),
    "bottoms": ("Straight jeans", "Pleated trousers", "Cargo pants"),
    "dresses": ("Wrap dress", "Slip dress"),
    "outerwear": ("Wool coat", "Denim jacket", "Rain shell"),
    "shoes": ("White sneakers", "Chelsea boots"),
    "bags": ("Canvas tote", "Leather crossbody"),
    "accessories": ("Merino scarf", "Bucket hat"),
}
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
)
COUNTRIES = ("US", "US", "US", "CA", "MX", "BR", "GB", "DE", "FR", "KR")
GOOD_CARD = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "card_number": "4000000000000002"}
PASSWORD = "demo shopper password"  # noqa: S105 - simulated shoppers on a local demo


@dataclass
class ShoppersSummary:
    url: str
    shoppers: int = 0
    sellers: int = 0
    products: int = 0
    orders: int = 0
    paid: int = 0
    declined: int = 0
    reviews: int = 0
    events: int = 0
    answers: Counter[int] = field(default_factory=Counter)

    def line(self) -> str:
        return (
            f"{self.shoppers} shoppers and {self.sellers} sellers at {self.url}: {self.products} products posted, "
            f"{self.orders} orders, {self.paid} paid ({self.declined} cards declined first), {self.reviews} reviews, "
            f"{self.events} clickstream events"
        )


class _Counting:
    """Counts what the shop emits on its way to the real producer."""

    def __init__(self, producer: Producer | None) -> None:
        self.producer = producer
        self.count = 0

    def emit(self, event: dict[str, Any]) -> bool:
        self.count += 1
        return self.producer.emit(event) if self.producer is not None else True


class _Visitor:
    """One person's browser: their own cookies, user agent and address, talking to the web tier."""

    def __init__(self, url: str, rng: random.Random, summary: ShoppersSummary, mailbox: MailSink) -> None:
        address = f"203.0.113.{rng.randrange(1, 255)}"  # documentation range: never a real client
        self.http = httpx.Client(
            base_url=url, timeout=30, headers={"User-Agent": rng.choice(AGENTS), "X-Forwarded-For": address}
        )
        self.summary, self.mailbox = summary, mailbox
        self.csrf = ""

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})} if self.csrf else kwargs.pop("headers", {})
        answer = self.http.request(method, path, headers=headers, **kwargs)
        self.summary.answers[answer.status_code] += 1
        return answer

    def join(self, email: str, country: str, *, seller: bool) -> None:
        name = email.split("@", maxsplit=1)[0].title()
        body = {"email": email, "password": PASSWORD, "display_name": name, "country": country, "seller": seller}
        self.call("POST", "/api/signup", json=body)
        confirmation = {"token": self.mailbox.confirmation_token(email), "password": PASSWORD}
        self.call("POST", "/api/signup/confirm", json=confirmation)  # the link in their mail, followed
        self.csrf = self.call("POST", "/api/login", json={"email": email, "password": PASSWORD}).json()["csrf_token"]

    def close(self) -> None:
        self.http.close()


def _sell(visitor: _Visitor, rng: random.Random, count: int) -> int:
    posted = 0
    for _ in range(count):
        category = rng.choice(business.CATEGORIES)
        colour = rng.choice(("navy", "ecru", "black", "olive"))
        price = f"{rng.randint(12, 240)}.{rng.choice(('00', '50', '90'))}"
        name = rng.choice(PRODUCT_NAMES.get(category, (category.capitalize(),)))
        body = {"name": f"{name} {colour}", "description": "Made to last.",
                "category": category, "price": price, "stock": rng.randint(5, 40)}  # fmt: skip
        posted += visitor.call("POST", "/api/products", json=body).status_code == 201
    return posted


def _shop(visitor: _Visitor, rng: random.Random, summary: ShoppersSummary) -> None:
    visitor.call("GET", "/")
    listing = visitor.call("GET", "/api/products", params={"limit": 24}).json()["items"]
    if rng.random() < 0.5:
        visitor.call("GET", "/api/products", params={"category": rng.choice(business.CATEGORIES)})
    if rng.random() < 0.4:
        visitor.call("GET", "/api/products", params={"q": rng.choice(("linen", "coat", "jeans", "tote", "dress"))})
    if not listing:
        return
    for product in rng.sample(listing, k=min(len(listing), rng.randint(1, 4))):
        visitor.call("GET", f"/api/products/{product['product_id']}")
    if rng.random() < 0.2:
        return  # only looking today
    for product in rng.sample(listing, k=min(len(listing), rng.randint(1, 3))):
        visitor.call("PUT", f"/api/cart/{product['product_id']}", json={"quantity": rng.choice((1, 1, 2))})
    placed = visitor.call("POST", "/api/orders", headers={"Idempotency-Key": uuid.uuid4().hex})
    if placed.status_code != 201:
        return
    summary.orders += 1
    order = placed.json()
    url = f"/api/orders/{order['order_id']}/payment"
    if rng.random() < 0.1:
        paid = visitor.call("POST", url, json=DECLINED_CARD, headers={"Idempotency-Key": uuid.uuid4().hex})
        summary.declined += paid.status_code == 402
    if rng.random() < 0.1:
        return  # left it unpaid
    paid = visitor.call("POST", url, json=GOOD_CARD, headers={"Idempotency-Key": uuid.uuid4().hex})
    if paid.status_code != 201:
        return
    summary.paid += 1
    for line in paid.json()["order"]["lines"]:
        if rng.random() < 0.5:
            rating = rng.choices((5, 4, 3, 2, 1), (45, 28, 12, 8, 7))[0]
            body = {"rating": rating, "body": rng.choice(("Great fit", "Lovely fabric", "Runs small", "Not for me"))}
            summary.reviews += visitor.call(
                "POST", f"/api/purchases/{line['purchase_id']}/review", json=body
            ).is_success


def run_shoppers(
    dsn: str,
    producer: Producer | None,
    n: int = 20,
    *,
    search_path: str | None = None,
    sellers: int = 3,
    products_per_seller: int = 6,
    seed: int = 7,
    linger_seconds: float = 0.0,
) -> ShoppersSummary:
    """Start the shop on loopback over `dsn`, print its URL, and have `n` simulated shoppers use it.

    The shop stops when they are done, or `linger_seconds` later (time for a person to look around).
    """
    rng = random.Random(seed)  # noqa: S311 - simulated behaviour, not secrets
    counting = _Counting(producer)
    # The simulated browsers say where they are (X-Forwarded-For), then the web tier adds itself: two hops.
    # They come from 254 addresses of the documentation range, far more shoppers an address than in life:
    # the per-address sign-up limit is raised for them.
    settings = Settings(cookie_secure=False, forwarded_hops=2, signups_per_client=10_000)
    with running_shop(dsn, producer=counting, search_path=search_path, settings=settings) as shop:
        summary = ShoppersSummary(url=shop.web_url)
        print(f"The shop: {shop.web_url} (API description: {shop.app_url}/openapi.json)")  # noqa: T201
        run = uuid.uuid4().hex[:6]
        for number in range(sellers):
            seller = _Visitor(shop.web_url, rng, summary, shop.mailbox)
            seller.join(f"seller{number}-{run}@example.com", rng.choice(COUNTRIES), seller=True)
            summary.products += _sell(seller, rng, products_per_seller)
            summary.sellers += 1
            seller.close()
        for number in range(n):
            visitor = _Visitor(shop.web_url, rng, summary, shop.mailbox)
            visitor.join(f"shopper{number}-{run}@example.com", rng.choice(COUNTRIES), seller=False)
            _shop(visitor, rng, summary)
            summary.shoppers += 1
            visitor.close()
        if linger_seconds > 0:
            print(f"The shop stays open at {shop.web_url} for {linger_seconds:.0f} s")  # noqa: T201
            time.sleep(linger_seconds)
    summary.events = counting.count  # once the servers have stopped: the last events follow their answers
    return summary


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a thin command over run_shoppers
    """`python -m local_stack.shoppers [N]`: N shoppers (20) in schema shop_demo of this machine's PostgreSQL.

    Without a PostgreSQL on 127.0.0.1:5432, an embedded one (local_stack.postgres).
    """
    import argparse  # noqa: PLC0415

    import psycopg  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="python -m local_stack.shoppers",
        description="Start the shop's two tiers on loopback over this machine's PostgreSQL (schema shop_demo; an "
        "embedded PostgreSQL when none answers on 127.0.0.1:5432), print the storefront's URL, and have "
        "simulated shoppers sign up, browse, order, pay and review.",
    )
    parser.add_argument("shoppers", nargs="?", type=int, default=20, help="how many shoppers (20)")
    shoppers = parser.parse_args(argv).shoppers

    from local_stack.postgres import shop_postgres  # noqa: PLC0415

    with shop_postgres() as dsn:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("CREATE SCHEMA IF NOT EXISTS shop_demo")
        summary = run_shoppers(dsn, None, shoppers, search_path="shop_demo")
        print(summary.line())  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
