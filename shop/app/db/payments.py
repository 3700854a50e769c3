"""Paying an order (table payment): each attempt, written before the provider is asked, and its answer.

A payment is three steps, each of which may be the last a task does before it dies:

1. under the order's payment lock (shop.app.db.locks, Lock.PAYMENT: one payment of an order at a
   time; a second click waits, then sees the first's answer), the attempt is written `pending` and
   committed;
2. the provider is asked, outside any transaction, with the attempt's provider key
   (`provider_key`: from the order and the customer's Idempotency-Key, so that the same attempt
   always sends the same key and two customers' keys never meet at the provider);
3. its answer is written and, if authorised, the order is paid, in one transaction.

So a capture is never lost: a `pending` attempt may have been captured, and until it is answered
the order cannot be cancelled (by its customer or by housekeeping) nor paid with another key.
It is answered either by the customer's retry with the same key, which asks the provider again
with the same provider key (the provider answers what it answered, or pays now if the first
request never reached it), or by `settle_unanswered` (housekeeping), once no task holds the
order's lock and the attempt is older than SETTLE_AFTER: it asks the provider what became of it
(`PaymentProvider.retrieve`); an attempt the provider never received is declined `not_received`.

Once answered, the same key on the same order is answered again from the table, never sent to
the provider twice; an order is authorised at most once, and has at most one attempt without an
answer (unique indexes say so too).

A key is one payment, as at a payment provider: sent again for another order (the customer's or
anyone's) or with another card (other last four digits or expiry: what the shop keeps of a card),
it is refused (IdempotencyKeyReusedError), never answered with another payment's answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from shop.app.db.locks import Lock, advisory_lock, transaction_lock
from shop.app.db.orders import Order, get_order, lock_customer, lock_order, mark_paid
from shop.app.db.sql import Connection, fetch_one
from shop.app.errors import ConflictError, IdempotencyKeyReusedError
from shop.app.payments import Card, IdempotencyError, PaymentProvider, PaymentResult, luhn_valid
from shoplake.business import OrderStatus

# Longer than any request to a provider takes, and than its lookups lag behind its answers.
SETTLE_AFTER = timedelta(minutes=10)
NOT_RECEIVED = "not_received"
INVALID_CARD_NUMBER = "invalid_card_number"


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """One payment attempt: `amount` in `currency` (the order's total), the card's last four digits;
    `pending` until the provider's answer is known."""

    payment_id: int
    outcome: Literal["pending", "authorised", "declined"]
    decline_reason: str | None
    amount: Decimal
    currency: str
    card_last4: str
    provider_reference: str | None
    card_expiry_month: int | None
    card_expiry_year: int | None

    def same_card(self, card: Card) -> bool:
        """Whether `card` is the card of this attempt, as far as the shop keeps a card (an attempt made
        before expiries were kept is compared by its last four digits)."""
        expiry = (self.card_expiry_month, self.card_expiry_year)
        return self.card_last4 == card.last4 and expiry in {(None, None), (card.expiry_month, card.expiry_year)}


@dataclass(frozen=True, slots=True)
class Paid:
    """A payment attempt and the order as it stands after it; `replayed` when its key had been answered."""

    payment: PaymentRow
    order: Order
    replayed: bool


_PAYMENT_COLUMNS = (
    "payment_id, outcome, decline_reason, amount, currency, card_last4, provider_reference, card_expiry_month, "
    "card_expiry_year"
)
KEY_REUSED = "this Idempotency-Key was used for another payment: send a new key for a new payment"
CARD_CHANGED = "this Idempotency-Key was first used with another card: send a new key for a new payment"


def provider_key(order_id: uuid.UUID, idempotency_key: str) -> str:
    """The idempotency key the provider sees for an attempt: a UUID (version 5) of the order and the
    customer's key, the same every time the attempt is asked or looked up."""
    return str(uuid.uuid5(order_id, idempotency_key))


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

    A card number failing the Luhn check is declined here (`invalid_card_number`) without asking the
    provider. A declined attempt is recorded and leaves the order pending. Raises NotFoundError for
    another customer's order or none; ConflictError when the order is paid or cancelled (unless the
    key is an earlier attempt's, which is answered again), when another key's attempt has no answer
    yet. Raises IdempotencyKeyReusedError when the key was used for another order (anyone's) or
    with another card. What the provider's client raises passes through, leaving the attempt
    pending (a retry with the same key asks again).
    """
    with advisory_lock(connection, Lock.PAYMENT, subject=str(order_id)):
        with connection.transaction():
            attempt, replayed = _attempt(
                connection, provider_name=provider.name, customer_id=customer_id, order_id=order_id,
                idempotency_key=idempotency_key, card=card,
            )  # fmt: skip
        if attempt.outcome == "pending":
            try:
                result = provider.authorise(
                    amount=attempt.amount, currency=attempt.currency, card=card,
                    idempotency_key=provider_key(order_id, idempotency_key),
                )  # fmt: skip
            except IdempotencyError:
                # The provider holds this key's first request, with a card that differs where the shop
                # cannot see (the middle digits): the attempt stays pending, for that card's retry or
                # for housekeeping, which learns the first request's answer from the provider.
                raise IdempotencyKeyReusedError(CARD_CHANGED) from None
            attempt = _answer(connection, customer_id, order_id, attempt.payment_id, result)
        return Paid(attempt, get_order(connection, customer_id, order_id), replayed=replayed)


def settle_unanswered(
    connection: Connection, provider: PaymentProvider, *, older_than: timedelta = SETTLE_AFTER
) -> int:
    """Answer every attempt left `pending` for longer than `older_than` by a task that is gone, from
    what `provider` says became of it (never received: declined `not_received`); returns how many.

    An attempt whose order's payment lock is held is under way, and left to its task. `connection`
    is in autocommit mode; what the provider's client raises passes through.
    """
    lost = connection.execute(
        "SELECT p.payment_id, p.order_id, p.idempotency_key, o.customer_id FROM payment p "
        "JOIN customer_order o USING (order_id) WHERE p.outcome = 'pending' AND p.created_at < now() - %s "
        "ORDER BY p.payment_id",
        (older_than,),
    ).fetchall()
    settled = 0
    for payment_id, order_id, idempotency_key, customer_id in lost:
        with advisory_lock(connection, Lock.PAYMENT, subject=str(order_id), wait=False) as free:
            if not free:
                continue
            found = provider.retrieve(idempotency_key=provider_key(order_id, idempotency_key))
            _answer(connection, customer_id, order_id, payment_id,
                    found or PaymentResult(authorised=False, reference=None, decline_reason=NOT_RECEIVED))  # fmt: skip
            settled += 1
    return settled


def _find(connection: Connection, where: str, params: Any) -> PaymentRow | None:
    return fetch_one(connection, PaymentRow, f"SELECT {_PAYMENT_COLUMNS} FROM payment WHERE {where}", params)  # noqa: S608 - our own columns and conditions


def _attempt(
    connection: Connection,
    *,
    provider_name: str,
    customer_id: int,
    order_id: uuid.UUID,
    idempotency_key: str,
    card: Card,
) -> tuple[PaymentRow, bool]:
    """Step 1, in the caller's transaction: the key's attempt (and whether it is an answered one,
    replayed), or a new one: `pending`, or declined at once for a card number failing the Luhn check."""
    lock_customer(connection, customer_id)
    status, total, currency = lock_order(connection, customer_id, order_id)
    # Two orders' payments with one key would each pass the check below under their own order's lock.
    transaction_lock(connection, Lock.PAYMENT_KEY, idempotency_key)
    if connection.execute(
        "SELECT 1 FROM payment WHERE idempotency_key = %s AND order_id <> %s LIMIT 1", (idempotency_key, order_id)
    ).fetchone():
        raise IdempotencyKeyReusedError(KEY_REUSED)
    earlier = _find(connection, "order_id = %s AND idempotency_key = %s", (order_id, idempotency_key))
    if earlier is not None and not earlier.same_card(card):
        raise IdempotencyKeyReusedError(CARD_CHANGED)
    if earlier is not None:  # answered: replayed; else its task died before the answer: asked again
        return earlier, earlier.outcome != "pending"
    if status == OrderStatus.PAID:
        raise ConflictError("the order is already paid")
    if status != OrderStatus.PENDING:
        raise ConflictError(f"the order is {status}")
    if _find(connection, "order_id = %s AND outcome = 'pending'", (order_id,)) is not None:
        raise ConflictError("an earlier payment of the order has no answer yet: retry it with its Idempotency-Key")
    valid = luhn_valid(card.number)
    attempt = fetch_one(
        connection,
        PaymentRow,
        "INSERT INTO payment (order_id, idempotency_key, provider, outcome, decline_reason, amount, currency, "  # noqa: S608 - our own columns
        "card_last4, card_expiry_month, card_expiry_year, answered_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, CASE WHEN %s THEN NULL ELSE now() END) "
        f"RETURNING {_PAYMENT_COLUMNS}",
        (order_id, idempotency_key, provider_name, "pending" if valid else "declined",
         None if valid else INVALID_CARD_NUMBER, total, currency, card.last4, card.expiry_month, card.expiry_year,
         valid),
    )  # fmt: skip
    assert attempt is not None
    return attempt, False


def _answer(
    connection: Connection, customer_id: int, order_id: uuid.UUID, payment_id: int, result: PaymentResult
) -> PaymentRow:
    """Step 3: the provider's answer to a pending attempt, and the order paid if it is authorised.
    Call holding the order's payment lock."""
    with connection.transaction():
        lock_customer(connection, customer_id)
        status, _, _ = lock_order(connection, customer_id, order_id)
        answered = fetch_one(
            connection,
            PaymentRow,
            "UPDATE payment SET outcome = %s, provider_reference = %s, decline_reason = %s, answered_at = now() "  # noqa: S608 - our own columns
            f"WHERE payment_id = %s AND outcome = 'pending' RETURNING {_PAYMENT_COLUMNS}",
            ("authorised" if result.authorised else "declined", result.reference, result.decline_reason, payment_id),
        )
        # Both callers hold the order's payment lock, so nobody answered it meanwhile; and an order
        # with an unanswered attempt is never cancelled nor paid otherwise, so it is pending.
        assert answered is not None
        if result.authorised and status == OrderStatus.PENDING:
            mark_paid(connection, order_id)
        return answered
