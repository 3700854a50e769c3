"""Payment providers: the interface the checkout pays through, and the local test provider.

The test provider answers deterministically by card number, as real providers' test modes do,
so that tests, the demo and the browser can authorise and decline at will.
"""

from __future__ import annotations

import hashlib
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
    authorised: bool
    reference: str | None
    decline_reason: str | None = None


class PaymentProvider(Protocol):
    name: str

    def authorise(self, *, amount: Decimal, currency: str, card: Card, idempotency_key: str) -> PaymentResult:
        """Authorise (and capture) `amount`; the provider must treat the same key as the same payment."""
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
    """Authorises the known good test cards, declines the known bad ones and any other number."""

    name = "local-test"

    def __init__(self) -> None:
        self.calls = 0  # how often the shop really asked: replays must not ask again

    def authorise(self, *, amount: Decimal, currency: str, card: Card, idempotency_key: str) -> PaymentResult:
        self.calls += 1
        reference = "test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        reason = TEST_CARDS.get(card.number, "unknown_test_card")
        if amount <= 0:
            reason = "invalid_amount"
        return PaymentResult(authorised=reason is None, reference=reference, decline_reason=reason)
