"""Payment providers: the interface the checkout pays through, and the local test provider.

The interface is what card payment services (Stripe, Adyen and the like) offer: a payment is
authorised and captured in one request carrying the merchant's idempotency key, the same key is
the same payment (asked again with the same parameters, the provider answers what it answered the
first time and never charges twice; asked with other parameters, it refuses: Stripe's documented
contract, https://docs.stripe.com/api/idempotent_requests, "the idempotency layer compares incoming
parameters to those of the original request and errors if they're not the same"), and the merchant
can look a payment up by that key (its reference at the provider) to learn what became of a
request whose answer it lost.

The test provider answers deterministically by card number, as real providers' test modes do,
so that tests, the demo and the browser can authorise and decline at will.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Card:
    number: str
    expiry_month: int
    expiry_year: int
    cvc: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class PaymentResult:
    """The provider's answer: authorised (and captured) or declined with a reason; `reference` is its id."""

    authorised: bool
    reference: str | None
    decline_reason: str | None = None


class IdempotencyError(Exception):
    """The provider refused a request: its idempotency key was first sent with other parameters
    (Stripe's `idempotency_error`). Nothing was charged by this request."""


class PaymentProvider(Protocol):
    name: str

    def authorise(self, *, amount: Decimal, currency: str, card: Card, idempotency_key: str) -> PaymentResult:
        """Authorise and capture `amount` (in `currency`); the same key with the same parameters is the same
        payment, answered the same however often it is asked. Raises IdempotencyError when the key was
        first sent with another amount, currency or card; whatever the provider's client raises when no
        answer came."""
        ...

    def retrieve(self, *, idempotency_key: str) -> PaymentResult | None:
        """What the provider answered to the payment with this key, or None if it never received one."""
        ...


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2  # noqa: PLW2901 - Luhn's doubling
        total += digit
    return total % 10 == 0


# The test cards, as payment providers publish them for their test modes.
TEST_CARDS: dict[str, str | None] = {
    "4242424242424242": None,  # Visa: authorised
    "5555555555554444": None,  # Mastercard: authorised
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}


class LocalTestProvider:
    """Authorises the known good test cards, declines the known bad ones and any other number.

    Like a real provider it keeps every answer by its key: the same key with the same parameters
    (amount, currency, card) is answered the same, the same key with others raises IdempotencyError,
    and `retrieve` finds it. Unlike one, it keeps them in memory, for the instance's process only: a
    housekeeping task of its own settles a payment whose answer another task lost as never received
    (harmless with test cards; a real provider, whose answers live at the provider, has no such gap).
    """

    name = "local-test"

    def __init__(self) -> None:
        self.calls = 0  # how often the shop really asked: replays must not ask again
        self._answers: dict[str, tuple[tuple[Decimal, str, Card], PaymentResult]] = {}
        self._lock = threading.Lock()

    def authorise(self, *, amount: Decimal, currency: str, card: Card, idempotency_key: str) -> PaymentResult:
        reference = "test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        reason = TEST_CARDS.get(card.number, "unknown_test_card")
        if amount <= 0:
            reason = "invalid_amount"
        request = (amount, currency, card)
        with self._lock:
            self.calls += 1
            first, answer = self._answers.setdefault(
                idempotency_key,
                (request, PaymentResult(authorised=reason is None, reference=reference, decline_reason=reason)),
            )
            if first != request:
                raise IdempotencyError(f"idempotency key {idempotency_key} was first used with other parameters")
            return answer

    def retrieve(self, *, idempotency_key: str) -> PaymentResult | None:
        with self._lock:
            found = self._answers.get(idempotency_key)
            return found[1] if found else None


def configured_provider() -> PaymentProvider:
    """The provider the app pays through and housekeeping settles with (shop.app.main, shop.app.housekeeping).

    A real provider plugs in here behind the same interface; the test provider until then.
    """
    return LocalTestProvider()
