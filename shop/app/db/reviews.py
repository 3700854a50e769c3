"""Buyers' reviews (table review): one per bought order line, only once it is sold (business.SOLD_STATUSES)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from shop.app.db.sql import Connection, fetch_all, fetch_one
from shop.app.errors import ConflictError, NotFoundError
from shoplake.business import SOLD_STATUSES

REVIEWS_LISTED = 50


@dataclass(frozen=True, slots=True)
class WrittenReview:
    """A review just written: its rating (1-5), text, the line and product it is of, and when (UTC)."""

    review_id: int
    purchase_id: int
    product_id: int
    rating: int
    body: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProductReview:
    """A review as a product's page shows it, with its writer's display name (None if they have none)."""

    review_id: int
    rating: int
    body: str | None
    created_at: datetime
    display_name: str | None


def write_review(
    connection: Connection, *, customer_id: int, purchase_id: int, rating: int, body: str | None
) -> WrittenReview:
    """The buyer reviews one line they bought (`rating` 1-5, `body` at most 5000 characters).

    Raises NotFoundError for another customer's line or none, ConflictError for a line not sold
    (pending, cancelled, refunded) or already reviewed.
    """
    with connection.transaction():
        line = connection.execute(
            "SELECT status, product_id FROM purchase WHERE purchase_id = %s AND customer_id = %s",
            (purchase_id, customer_id),
        ).fetchone()
        if line is None:
            raise NotFoundError("no such purchase")
        if line[0] not in SOLD_STATUSES:
            raise ConflictError("only a paid purchase can be reviewed")
        try:
            with connection.transaction():
                review = fetch_one(
                    connection,
                    WrittenReview,
                    "INSERT INTO review (purchase_id, rating, body) VALUES (%s, %s, %s) "
                    "RETURNING review_id, purchase_id, %s::bigint AS product_id, rating, body, created_at",
                    (purchase_id, rating, body, line[1]),
                )
        except psycopg.errors.UniqueViolation:
            raise ConflictError("this purchase is already reviewed") from None
        assert review is not None
        return review


def product_reviews(connection: Connection, product_id: int, limit: int = REVIEWS_LISTED) -> list[ProductReview]:
    """The product's newest reviews, `limit` at most, newest first."""
    return fetch_all(
        connection,
        ProductReview,
        "SELECT r.review_id, r.rating, r.body, r.created_at, c.display_name FROM review r "
        "JOIN purchase u USING (purchase_id) LEFT JOIN customer_contact c ON c.customer_id = u.customer_id "
        "WHERE u.product_id = %s ORDER BY r.created_at DESC LIMIT %s",
        (product_id, limit),
    )
