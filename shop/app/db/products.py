"""The catalogue (tables product, product_image; review and purchase for a product's rating).

Prices are `Decimal` in the product's `currency` (numeric(10, 2)); `created_at` is an aware UTC
`datetime`. Images live in S3 under `products/<product_id>/<random>.<subtype>`; the database
keeps their keys, in the order the seller gave them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shop.app.db.sql import Connection, fetch_all, fetch_dicts
from shop.app.errors import ForbiddenError, NotFoundError, UnprocessableError

CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,18}$"
"""A page's cursor: the keyset of the page's last product, `<microseconds since 1970 UTC>.<product_id>`."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WORD = re.compile(r"\w+", re.UNICODE)
SELLER_PRODUCTS_MAX = 200


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product as lists show it; `image_key` is its first image's S3 key, if it has one."""

    product_id: int
    seller_id: int
    name: str
    description: str | None
    category: str
    price: Decimal
    currency: str
    stock: int
    is_listed: bool
    created_at: datetime
    image_key: str | None


@dataclass(frozen=True, slots=True)
class ProductDetail(ProductRow):
    """A product as its page shows it: every image's key in order, its mean rating (1-5) and review count."""

    image_keys: tuple[str, ...]
    rating: float | None
    reviews: int


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of a listing, newest first, and the cursor of the next page (None on the last)."""

    items: list[ProductRow]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ImageSlot:
    """Where one of a new product's images is to be uploaded: its S3 key and content type."""

    key: str
    content_type: str


@dataclass(frozen=True, slots=True)
class NewProduct:
    """A product just created and the slots its images are to be uploaded to, in order."""

    product_id: int
    images: list[ImageSlot]


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """What a seller changes on their product; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    stock: int | None = None
    is_listed: bool | None = None


_COLUMNS = (
    "p.product_id, p.seller_id, p.name, p.description, p.category, p.price, p.currency, p.stock, p.is_listed, "
    "p.created_at, (SELECT i.s3_key FROM product_image i WHERE i.product_id = p.product_id "
    "ORDER BY i.position LIMIT 1) AS image_key"
)


def search_query(text: str) -> str | None:
    """A PostgreSQL tsquery matching every word of `text` (the first 8) as a prefix, or None if it has no words.

    Only the words are kept, so no tsquery syntax from the client gets through.
    """
    words = _WORD.findall(text.lower())[:8]
    return " & ".join(f"{word}:*" for word in words) or None


def encode_cursor(created_at: datetime, product_id: int) -> str:
    """The cursor that continues a listing after the product (`created_at` aware, `product_id`)."""
    return f"{(created_at - _EPOCH) // timedelta(microseconds=1)}.{product_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The keyset a cursor names: (created_at in UTC, product_id). Raises UnprocessableError for any other text."""
    if not re.match(CURSOR_PATTERN, cursor):
        raise UnprocessableError("cursor: not one this shop gave")
    micros, product_id = cursor.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), int(product_id)


def listing_query(
    *, category: str | None, text: str | None, limit: int, cursor: str | None
) -> tuple[str, dict[str, Any]] | None:
    """The query (and its parameters) of one listing page, reading `limit` + 1 rows to know if more follow.

    None when `text` has no words (such a search finds nothing). Raises UnprocessableError for a
    cursor this shop did not give.
    """
    where = ["p.is_listed"]
    params: dict[str, Any] = {"limit": limit + 1}
    if category:
        where.append("p.category = %(category)s")
        params["category"] = category
    if text and text.strip():
        params["query"] = search_query(text)
        if params["query"] is None:
            return None
        where.append("p.search @@ to_tsquery('simple', %(query)s)")
    if cursor:
        params["after_time"], params["after_id"] = decode_cursor(cursor)
        where.append("(p.created_at, p.product_id) < (%(after_time)s, %(after_id)s)")
    query = (
        f"SELECT {_COLUMNS} FROM product p WHERE {' AND '.join(where)} "  # noqa: S608 - our own fragments; values are parameters
        "ORDER BY p.created_at DESC, p.product_id DESC LIMIT %(limit)s"
    )
    return query, params


def list_products(
    connection: Connection, *, category: str | None, text: str | None, limit: int, cursor: str | None
) -> ProductPage:
    """One page of listed products, newest first: in `category` (any if None), matching every word of
    `text` as a prefix (any if None), `limit` at most, after `cursor` (the first page if None).

    Raises UnprocessableError for a cursor this shop did not give.
    """
    built = listing_query(category=category, text=text, limit=limit, cursor=cursor)
    if built is None:
        return ProductPage(items=[], next_cursor=None)
    rows = fetch_all(connection, ProductRow, *built)
    if len(rows) <= limit:
        return ProductPage(items=rows, next_cursor=None)
    rows = rows[:limit]
    return ProductPage(items=rows, next_cursor=encode_cursor(rows[-1].created_at, rows[-1].product_id))


def get_product(connection: Connection, product_id: int, *, listed_only: bool = True) -> ProductDetail:
    """The product with its images and rating. Raises NotFoundError if there is none, or if it is
    unlisted and `listed_only`."""
    found = fetch_dicts(
        connection,
        f"SELECT {_COLUMNS}, "  # noqa: S608 - our own columns
        "(SELECT avg(r.rating)::float FROM review r JOIN purchase u USING (purchase_id) "
        "WHERE u.product_id = p.product_id) AS rating, "
        "(SELECT count(*) FROM review r JOIN purchase u USING (purchase_id) WHERE u.product_id = p.product_id) "
        "AS reviews FROM product p WHERE p.product_id = %s",
        (product_id,),
    )
    if not found or (listed_only and not found[0]["is_listed"]):
        raise NotFoundError("no such product")
    keys = connection.execute(
        "SELECT s3_key FROM product_image WHERE product_id = %s ORDER BY position", (product_id,)
    ).fetchall()
    return ProductDetail(**found[0], image_keys=tuple(key for (key,) in keys))


def create_product(
    connection: Connection,
    *,
    seller_id: int,
    name: str,
    description: str | None,
    category: str,
    price: Decimal,
    currency: str,
    stock: int,
    image_types: list[str],
) -> NewProduct:
    """List a new product of `seller_id` (a seller), with a slot per image content type (`image/<subtype>`).

    `price` in `currency` (ISO 4217). The product and its image rows are written in one transaction;
    a value the table's CHECKs refuse raises psycopg's `IntegrityError`.
    """
    with connection.transaction():
        row = connection.execute(
            "INSERT INTO product (seller_id, name, description, category, price, currency, stock) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING product_id",
            (seller_id, name, description, category, price, currency, stock),
        ).fetchone()
        assert row is not None
        product_id = int(row[0])
        images = []
        for position, content_type in enumerate(image_types):
            slot = ImageSlot(f"products/{product_id}/{uuid.uuid4().hex}.{content_type.rsplit('/', 1)[1]}", content_type)
            connection.execute(
                "INSERT INTO product_image (product_id, position, s3_key, content_type) VALUES (%s, %s, %s, %s)",
                (product_id, position, slot.key, slot.content_type),
            )
            images.append(slot)
    return NewProduct(product_id, images)


def update_product(
    connection: Connection, *, seller_id: int, product_id: int, changes: ProductChanges
) -> ProductDetail:
    """Apply `changes` to the seller's own product; returns it as it now is (listed or not).

    Raises NotFoundError if there is no such product, ForbiddenError if it is another seller's.
    """
    with connection.transaction():
        owner = connection.execute(
            "SELECT seller_id FROM product WHERE product_id = %s FOR UPDATE", (product_id,)
        ).fetchone()
        if owner is None:
            raise NotFoundError("no such product")
        if owner[0] != seller_id:
            raise ForbiddenError("only the seller changes a product")
        for change in fields(changes):
            value = getattr(changes, change.name)
            if value is not None:
                # The column's name is a field of ProductChanges, never the client's text.
                connection.execute(
                    f"UPDATE product SET {change.name} = %s WHERE product_id = %s",  # noqa: S608
                    (value, product_id),
                )
    return get_product(connection, product_id, listed_only=False)


def seller_products(connection: Connection, seller_id: int) -> list[ProductRow]:
    """The seller's products, listed or not, newest first (the 200 newest)."""
    return fetch_all(
        connection,
        ProductRow,
        f"SELECT {_COLUMNS} FROM product p WHERE p.seller_id = %s ORDER BY p.created_at DESC LIMIT %s",  # noqa: S608
        (seller_id, SELLER_PRODUCTS_MAX),
    )
