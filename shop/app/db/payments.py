"""Paying an order (table payment): each attempt and what the payment provider answered.

The same idempotency key on the same order is the same attempt, answered again from the table and
never sent to the provider twice; an order is authorised at most once (a unique index says so too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shop.app.db.orders import Order, get_order, lock_order, mark_paid
from shop.app.db.sql import Connection, fetch_one
from shop.app.errors import ConflictError
from shop.app.payments import Card, PaymentProvider, PaymentResult, luhn_valid
from shoplake.business import OrderStatus


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """One payment attempt: `amount` in `currency` (the order's total), the card's last four digits."""

    payment_id: int
    outcome: Literal["authorised", "declined"]
    decline_reason: str | None
    amount: Decimal
    currency: str
    card_last4: str
    provider_reference: str | None


@dataclass(frozen=True, slots=True)
class Paid:
    """A payment attempt and the order as it stands after it; `replayed` when its key had been seen."""

    payment: PaymentRow
    order: Order
    replayed: bool


_PAYMENT_COLUMNS = "payment_id, outcome, decline_reason, amount, currency, card_last4, provider_reference"


def pay_order(
    connection: Connection,
    provider: PaymentProvider,
    *,
    customer_id: int,
    order_id: uuid.UUID,
    idempotency_key: str,
    card: Card,
) -> Paid:
    """Pay the customer's pending order with `card` through `provider`, once.

    The order's row is locked throughout, so a second click waits and then sees the first's attempt.
    A card number failing the Luhn check is declined here (`invalid_card_number`) without asking the
    provider. A declined attempt is recorded and leaves the order pending. Raises NotFoundError for
    another customer's order or none, ConflictError when the order is paid or cancelled (unless the
    key is an earlier attempt's, which is answered again).
    """
    with connection.transaction():
        status, total, currency = lock_order(connection, customer_id, order_id)
        earlier = fetch_one(
            connection,
            PaymentRow,
            f"SELECT {_PAYMENT_COLUMNS} FROM payment WHERE order_id = %s AND idempotency_key = %s",  # noqa: S608 - our own columns
            (order_id, idempotency_key),
        )
        if earlier is not None:
            return Paid(earlier, get_order(connection, customer_id, order_id), replayed=True)
        if status == OrderStatus.PAID:
            raise ConflictError("the order is already paid")
        if status != OrderStatus.PENDING:
            raise ConflictError(f"the order is {status}")
        result = (
            provider.authorise(amount=total, currency=currency, card=card, idempotency_key=idempotency_key)
            if luhn_valid(card.number)
            else PaymentResult(authorised=False, reference=None, decline_reason="invalid_card_number")
        )
        payment = fetch_one(
            connection,
            PaymentRow,
            "INSERT INTO payment (order_id, idempotency_key, provider, provider_reference, outcome, decline_reason, "  # noqa: S608 - our own columns
            "amount, currency, card_last4) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            f"RETURNING {_PAYMENT_COLUMNS}",
            (order_id, idempotency_key, provider.name, result.reference,
             "authorised" if result.authorised else "declined", result.decline_reason, total, currency, card.last4),
        )  # fmt: skip
        assert payment is not None
        if result.authorised:
            mark_paid(connection, order_id)
        return Paid(payment, get_order(connection, customer_id, order_id), replayed=False)
