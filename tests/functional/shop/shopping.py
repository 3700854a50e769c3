"""What the shop's tests do as shoppers and sellers, through the API."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from shop.app.mail import MailSink

PASSWORD = "correct horse battery"
_emails = itertools.count(1)


class Recorder:
    """A producer that keeps what the shop emits (the real one queues it for Kinesis)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: dict[str, Any]) -> bool:
        self.events.append(event)
        return True

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event_type"] == kind]


def unique_email(name: str = "shopper") -> str:
    return f"{name}{next(_emails)}@example.com"


def mailbox(client: TestClient) -> MailSink:
    """The mail the app of `client` sent (tests build it without a mailer: a MailSink)."""
    sink: MailSink = client.app.state.services.mailer  # type: ignore[attr-defined] # TestClient.app is the FastAPI app
    return sink


def confirm(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Follow the newest confirmation link mailed to `email`, as its owner does."""
    follow_link(client, mailbox(client), email, password)


def follow_link(http: httpx.Client, sent: MailSink, email: str, password: str = PASSWORD) -> None:
    """Confirm `email`'s sign-up through `http` (a browser on the shop) with the newest link in `sent`."""
    answer = http.post("/api/signup/confirm", json={"token": sent.confirmation_token(email), "password": password})
    assert answer.status_code == 200, answer.text


def sign_up(
    client: TestClient, email: str, *, seller: bool = False, password: str = PASSWORD, confirmed: bool = True
) -> None:
    """Sign up as `email` and (unless not `confirmed`) follow the link mailed to it."""
    answer = client.post(
        "/api/signup",
        json={"email": email, "password": password, "display_name": email.split("@", maxsplit=1)[0], "country": "US",
              "seller": seller},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    if confirmed:
        confirm(client, email, password)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    answer = client.post("/api/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    me: dict[str, Any] = answer.json()
    client.headers["X-CSRF-Token"] = me["csrf_token"]
    return me


def customer(client: TestClient, *, seller: bool = False) -> dict[str, Any]:
    """A signed-up, logged-in customer in this client."""
    email = unique_email("seller" if seller else "buyer")
    sign_up(client, email, seller=seller)
    return {**log_in(client, email), "email": email}


def post_product(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Linen shirt", "description": "Breathable, relaxed fit", "category": "tops", "price": "39.90",
            "stock": 5, **overrides}  # fmt: skip
    answer = client.post("/api/products", json=body)
    assert answer.status_code == 201, answer.text
    product: dict[str, Any] = answer.json()["product"]
    return product


def order_of(client: TestClient, product_id: int, quantity: int = 1, key: str = "order-key-0001") -> dict[str, Any]:
    assert client.put(f"/api/cart/{product_id}", json={"quantity": quantity}).status_code == 200
    answer = client.post("/api/orders", headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def an_order(
    new_client: Callable[[], TestClient], **product_fields: Any
) -> tuple[TestClient, dict[str, Any], dict[str, Any]]:
    """A seller's product (with `product_fields`) in a new buyer's order: the buyer, the product, the order."""
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, **product_fields)
    customer(buyer)
    return buyer, product, order_of(buyer, product["product_id"])


GOOD_CARD = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "card_number": "4000000000000002"}
