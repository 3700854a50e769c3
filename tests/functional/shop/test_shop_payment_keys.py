"""An Idempotency-Key is one payment, as at a payment provider: reused with another order, by another
customer or with another card it is refused (422 `idempotency_key_reused`) and nothing is charged.
The test provider keeps the providers' documented contract: the same key with the same parameters
is the same answer, with other parameters an error (https://docs.stripe.com/api/idempotent_requests)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.payments import Card, IdempotencyError, LocalTestProvider
from tests.functional.shop.shopping import DECLINED_CARD, GOOD_CARD, an_order, customer, order_of, post_product

VISA = Card("4242424242424242", 12, 2030, "123")


def pay(client: TestClient, order: dict[str, Any], card: dict[str, Any], key: str) -> Any:
    return client.post(f"/api/orders/{order['order_id']}/payment", json=card, headers={"Idempotency-Key": key})


def test_the_test_provider_answers_the_same_key_and_parameters_the_same() -> None:
    # GIVEN a payment the provider answered
    provider = LocalTestProvider()
    first = provider.authorise(amount=Decimal("39.90"), currency="USD", card=VISA, idempotency_key="k-1")
    # WHEN it is asked again with the same key and parameters THEN it answers the same, and retrieve finds it
    assert provider.authorise(amount=Decimal("39.90"), currency="USD", card=VISA, idempotency_key="k-1") == first
    assert provider.retrieve(idempotency_key="k-1") == first


@pytest.mark.parametrize(
    "changed",
    [
        {"amount": Decimal("1.00")},
        {"currency": "EUR"},
        {"card": Card("5555555555554444", 12, 2030, "123")},
        {"card": Card("4242424242424242", 11, 2031, "123")},
    ],
    ids=["amount", "currency", "card", "expiry"],
)
def test_the_test_provider_refuses_a_key_sent_with_other_parameters(changed: dict[str, Any]) -> None:
    # GIVEN a payment the provider answered
    provider = LocalTestProvider()
    request: dict[str, Any] = {"amount": Decimal("39.90"), "currency": "USD", "card": VISA, "idempotency_key": "k-1"}
    first = provider.authorise(**request)
    # WHEN its key comes again with one parameter changed THEN the provider refuses, keeping the first answer
    with pytest.raises(IdempotencyError):
        provider.authorise(**{**request, **changed})
    assert provider.retrieve(idempotency_key="k-1") == first


def test_a_payment_key_reused_on_another_order_of_the_same_customer_is_refused(
    new_client: Callable[[], TestClient], payments: LocalTestProvider
) -> None:
    # GIVEN a buyer who paid one order with a key, and has a second order
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    first_product, second_product = post_product(seller), post_product(seller, name="Wool scarf")
    customer(buyer)
    first = order_of(buyer, first_product["product_id"], key="order-key-0001")
    second = order_of(buyer, second_product["product_id"], key="order-key-0002")
    assert pay(buyer, first, GOOD_CARD, "pay-key-0001").status_code == 201
    # WHEN the same payment key pays the second order
    reused = pay(buyer, second, GOOD_CARD, "pay-key-0001")
    # THEN it is refused, naming the reuse; the second order stays unpaid and nothing more was charged
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused", reused.text
    assert buyer.get(f"/api/orders/{second['order_id']}").json()["status"] == "pending"
    assert payments.calls == 1
    # and a new key pays it
    assert pay(buyer, second, GOOD_CARD, "pay-key-0002").status_code == 201


def test_a_payment_key_another_customer_used_is_refused_and_charges_nothing(
    new_client: Callable[[], TestClient], payments: LocalTestProvider, pool: ConnectionPool[Any]
) -> None:
    # GIVEN two buyers whose pages send the same Idempotency-Key, the first declined
    first_buyer, _, first_order = an_order(new_client)
    second_buyer, _, second_order = an_order(new_client)
    assert pay(first_buyer, first_order, DECLINED_CARD, "same-key-0001").status_code == 402
    # WHEN the second pays with that key
    reused = pay(second_buyer, second_order, GOOD_CARD, "same-key-0001")
    # THEN it is refused: neither the first payment's answer nor another charge
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"
    assert "declined" not in reused.text and "4242" not in reused.text
    assert second_buyer.get(f"/api/orders/{second_order['order_id']}").json()["status"] == "pending"
    with pool.connection() as db:
        assert db.execute("SELECT count(*) FROM payment").fetchone() == (1,)
    assert payments.calls == 1


@pytest.mark.parametrize(
    "other_card",
    [DECLINED_CARD, {**GOOD_CARD, "expiry_month": 11}],
    ids=["another number", "another expiry"],
)
def test_a_payment_key_replayed_with_another_card_is_refused(
    new_client: Callable[[], TestClient], payments: LocalTestProvider, other_card: dict[str, Any]
) -> None:
    # GIVEN an order paid with a key
    buyer, _, order = an_order(new_client)
    assert pay(buyer, order, GOOD_CARD, "pay-key-0001").status_code == 201
    # WHEN the key comes again with another card THEN it is refused, not answered as the first payment
    replayed = pay(buyer, order, other_card, "pay-key-0001")
    assert replayed.status_code == 422 and replayed.json()["error"] == "idempotency_key_reused"
    # while the same key with the same card is still the first payment's answer
    assert pay(buyer, order, GOOD_CARD, "pay-key-0001").status_code == 201
    assert payments.calls == 1


def test_an_order_key_sent_again_with_another_cart_answers_the_order_it_placed(
    new_client: Callable[[], TestClient],
) -> None:
    # GIVEN an order placed with a key, and the cart filled again afterwards
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    shirt, scarf = post_product(seller), post_product(seller, name="Wool scarf")
    customer(buyer)
    placed = order_of(buyer, shirt["product_id"], key="order-key-0001")
    assert buyer.put(f"/api/cart/{scarf['product_id']}", json={"quantity": 1}).status_code == 200
    # WHEN the key comes again (the first answer was lost; the cart now differs, as it would then)
    again = buyer.post("/api/orders", headers={"Idempotency-Key": "order-key-0001"})
    # THEN it answers the order it placed, and the new cart stays for an order of its own
    assert again.status_code == 200 and again.json() == placed
    assert [line["product_id"] for line in buyer.get("/api/cart").json()["lines"]] == [scarf["product_id"]]
    assert buyer.post("/api/orders", headers={"Idempotency-Key": "order-key-0002"}).status_code == 201


def test_an_order_key_another_customer_used_is_their_own_order(new_client: Callable[[], TestClient]) -> None:
    # GIVEN two buyers whose pages send the same order key WHEN both order THEN each gets an order of their own
    seller = new_client()
    customer(seller, seller=True)
    product = post_product(seller)
    orders = []
    for _ in range(2):
        buyer = new_client()
        customer(buyer)
        orders.append(order_of(buyer, product["product_id"], key="same-order-key"))
    assert orders[0]["order_id"] != orders[1]["order_id"]
