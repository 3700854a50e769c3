"""A task that dies while paying loses no capture: its attempt is written before the provider is
asked, the order waits for the attempt's answer, and the answer comes from the provider itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.db import payments as payment_rows
from shop.app.db.locks import Lock, advisory_lock
from shop.app.housekeeping import keep_house
from shop.app.payments import Card, LocalTestProvider, PaymentResult
from tests.functional.shop.shopping import GOOD_CARD, customer, order_of, post_product

CARD = Card("4242424242424242", 12, 2030, "123")  # GOOD_CARD's
Connect = Callable[[], psycopg.Connection[Any]]


class Died(BaseException):
    """The paying task dies here: nothing more of it runs."""


class CrashingProvider(LocalTestProvider):
    """The test provider, except that when armed the task asking it dies: after the provider received
    and captured the payment, or before the request left the task. Its session ends with it."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: psycopg.Connection[Any] | None = None
        self.received = True
        self.observer: psycopg.Connection[Any] | None = None

    def authorise(self, **request: Any) -> PaymentResult:
        victim, self.victim = self.victim, None
        if victim is None:
            return super().authorise(**request)
        if self.received:
            super().authorise(**request)
        assert self.observer is not None
        self.observer.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        raise Died


@pytest.fixture
def payments() -> CrashingProvider:
    return CrashingProvider()


def pay_and_die(connect: Connect, provider: CrashingProvider, buyer: dict[str, Any], order: dict[str, Any],
                *, received: bool) -> None:  # fmt: skip
    """The buyer pays the order with key `pay-key-0001` in a task that dies while asking the provider."""
    task = connect()
    provider.victim, provider.received, provider.observer = task, received, connect()
    with pytest.raises(Died):
        payment_rows.pay_order(task, provider, customer_id=buyer["customer_id"], order_id=uuid.UUID(order["order_id"]),
                               idempotency_key="pay-key-0001", card=CARD)  # fmt: skip


def an_order_of(new_client: Callable[[], TestClient]) -> tuple[TestClient, dict[str, Any], dict[str, Any], int]:
    """A buyer (client and customer), their pending order of one of a product's 5, and the product's id."""
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=5)
    me = customer(buyer)
    return buyer, me, order_of(buyer, product["product_id"]), product["product_id"]


def age(pool: ConnectionPool[Any], *, order_minutes: int, attempt_minutes: int) -> None:
    """The order was placed, and its payment attempted, that many minutes ago."""
    with pool.connection() as db:
        db.execute("UPDATE customer_order SET created_at = now() - %s", (timedelta(minutes=order_minutes),))
        db.execute("UPDATE payment SET created_at = now() - %s", (timedelta(minutes=attempt_minutes),))


def keep_house_now(pool: ConnectionPool[Any], provider: LocalTestProvider) -> Any:
    with pool.connection() as db:
        return keep_house(db, provider=provider)


def test_a_payment_captured_just_before_its_task_died_pays_the_order_and_is_never_cancelled(
    new_client: Callable[[], TestClient], session: Connect, pool: ConnectionPool[Any], payments: CrashingProvider
) -> None:
    # GIVEN a payment the provider captured, whose task then died before writing the answer
    buyer, me, order, product_id = an_order_of(new_client)
    pay_and_die(session, payments, me, order, received=True)
    # WHEN housekeeping runs past the unpaid window, while the attempt is recent
    age(pool, order_minutes=31, attempt_minutes=1)
    assert keep_house_now(pool, payments).orders == 0
    # THEN the order still waits for the payment's answer, its stock reserved
    assert buyer.get(f"/api/orders/{order['order_id']}").json()["status"] == "pending"
    assert buyer.get(f"/api/products/{product_id}").json()["stock"] == 4
    # WHEN housekeeping runs once the attempt has been unanswered longer than any request takes
    age(pool, order_minutes=45, attempt_minutes=payment_rows.SETTLE_AFTER // timedelta(minutes=1) + 1)
    swept = keep_house_now(pool, payments)
    # THEN the provider's answer is written, the order is paid, and nothing was charged twice
    assert (swept.payments, swept.orders) == (1, 0)
    assert buyer.get(f"/api/orders/{order['order_id']}").json()["status"] == "paid"
    with pool.connection() as db:
        assert db.execute("SELECT outcome, provider_reference IS NOT NULL FROM payment").fetchall() == [
            ("authorised", True)
        ]
    assert payments.calls == 1
    assert keep_house_now(pool, payments).orders == 0


def test_a_retry_with_the_same_key_after_a_crash_gets_the_providers_first_answer(
    new_client: Callable[[], TestClient], session: Connect, pool: ConnectionPool[Any], payments: CrashingProvider
) -> None:
    # GIVEN a payment the provider captured, whose task died before writing the answer
    buyer, me, order, _ = an_order_of(new_client)
    pay_and_die(session, payments, me, order, received=True)
    url = f"/api/orders/{order['order_id']}/payment"
    # WHEN the buyer pays with another key, or cancels, meanwhile
    # THEN both are refused: the first payment may have been captured
    other = buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "pay-key-0002"})
    assert other.status_code == 409 and "no answer yet" in other.json()["message"]
    assert buyer.post(f"/api/orders/{order['order_id']}/cancel").status_code == 409
    # WHEN the buyer retries with the same key (the page did, its answer lost)
    retry = buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "pay-key-0001"})
    # THEN the provider's first answer is the answer: paid, with the one payment the provider holds
    assert retry.status_code == 201 and retry.json()["order"]["status"] == "paid"
    key = payment_rows.provider_key(uuid.UUID(order["order_id"]), "pay-key-0001")
    assert payments.retrieve(idempotency_key=key) is not None and payments.calls == 2
    with pool.connection() as db:
        assert db.execute("SELECT count(*), min(outcome) FROM payment").fetchone() == (1, "authorised")


def test_a_payment_the_provider_never_received_is_declined_then_its_order_cancelled(
    new_client: Callable[[], TestClient], session: Connect, pool: ConnectionPool[Any], payments: CrashingProvider
) -> None:
    # GIVEN a task that died before its payment request left it, long enough ago
    buyer, me, order, product_id = an_order_of(new_client)
    pay_and_die(session, payments, me, order, received=False)
    age(pool, order_minutes=45, attempt_minutes=payment_rows.SETTLE_AFTER // timedelta(minutes=1) + 1)
    # WHEN housekeeping runs twice
    first, second = keep_house_now(pool, payments), keep_house_now(pool, payments)
    # THEN the first learns from the provider that it never received it, the second cancels the order
    assert (first.payments, second.orders) == (1, 1)
    with pool.connection() as db:
        assert db.execute("SELECT outcome, decline_reason FROM payment").fetchall() == [("declined", "not_received")]
    assert buyer.get(f"/api/orders/{order['order_id']}").json()["status"] == "cancelled"
    assert buyer.get(f"/api/products/{product_id}").json()["stock"] == 5


def test_housekeeping_leaves_an_unanswered_payment_to_the_task_still_asking(
    new_client: Callable[[], TestClient], session: Connect, pool: ConnectionPool[Any], payments: CrashingProvider
) -> None:
    # GIVEN an old unanswered attempt whose task is alive, still waiting for the provider (it holds the lock)
    buyer, me, order, _ = an_order_of(new_client)
    pay_and_die(session, payments, me, order, received=False)
    age(pool, order_minutes=45, attempt_minutes=60)
    with advisory_lock(session(), Lock.PAYMENT, subject=order["order_id"]):
        # WHEN housekeeping runs
        swept = keep_house_now(pool, payments)
    # THEN it neither answers the attempt nor cancels the order
    assert (swept.payments, swept.orders) == (0, 0)
    assert buyer.get(f"/api/orders/{order['order_id']}").json()["status"] == "pending"
