"""What can go wrong in the shop, as the data access and the API raise it.

These say what happened, not how it is answered: the API maps each to an HTTP status and an
error code in one table (shop.app.api.errors). Each carries a message that is safe to show
the client (it names the field or the rule, never another customer's data).
"""

from __future__ import annotations


class ShopError(Exception):
    """The request cannot be done as asked; `message` says why, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ShopError):
    """No such thing, or not one this customer may see (whose existence is then not told)."""


class ForbiddenError(ShopError):
    """The customer is known but may not do this (a CSRF token missing, not the seller, ...)."""


class ConflictError(ShopError):
    """Not in the state it must be in (an empty cart, too little stock, an order already paid)."""


class UnprocessableError(ShopError):
    """Well-formed but unusable input (a cursor this shop never gave, uploads not configured)."""


class IdempotencyKeyReusedError(UnprocessableError):
    """An Idempotency-Key sent again with another request: another order, another customer's, or
    another body (a different card). Payment providers refuse such a reuse, and so does the shop."""


class LimitReachedError(ConflictError):
    """A cap on what one customer may hold (unpaid orders, reserved units) is reached; the message names it."""


class UnauthorisedError(ShopError):
    """Not logged in, or wrong credentials."""


class TooManyAttemptsError(ShopError):
    """Too many failed logins for this e-mail or address; `retry_after` is how many seconds until the next
    attempt is heard."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
