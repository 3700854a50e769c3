"""The shop's data: every query the API sends, parameterised, each function one unit of work.

Functions take a psycopg connection and plain values, and raise `ShopError` subclasses the API
turns into answers. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shop.app.payments import Card, PaymentProvider, PaymentResult, luhn_valid

SOLD = ("paid", "shipped", "delivered")
CATEGORIES = ("tops", "bottoms", "dresses", "outerwear", "shoes", "bags", "accessories")
Row = dict[str, Any]


class ShopError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ShopError):
    status, code = 404, "not_found"


class ForbiddenError(ShopError):
    status, code = 403, "forbidden"


class ConflictError(ShopError):
    status, code = 409, "conflict"


class UnprocessableError(ShopError):
    status, code = 422, "unprocessable"


def _rows(connection: psycopg.Connection[Any], query: str, params: Any = ()) -> list[Row]:
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _row(connection: psycopg.Connection[Any], query: str, params: Any = ()) -> Row | None:
    rows = _rows(connection, query, params)
    return rows[0] if rows else None


# ---------------------------------------------------------------- accounts and sessions


def sign_up(
    connection: psycopg.Connection[Any],
    *,
    email: str,
    password_hash: str,
    display_name: str | None,
    country: str,
    birth_year: int | None,
    gender: str | None,
    seller: bool,
) -> int | None:
    """The new customer's id, or None when the e-mail is taken (the caller answers the same either way)."""
    try:
        with connection.transaction():
            customer = _row(
                connection,
                "INSERT INTO customer (birth_year, gender, country, is_seller) VALUES (%s, %s, %s, %s) "
                "RETURNING customer_id",
                (birth_year, gender, country, seller),
            )
            assert customer is not None
            connection.execute(
                "INSERT INTO customer_contact (customer_id, email, password_hash, display_name) "
                "VALUES (%s, %s, %s, %s)",
                (customer["customer_id"], email, password_hash, display_name),
            )
            return int(customer["customer_id"])
    except psycopg.errors.UniqueViolation:
        return None  # the e-mail is taken: nothing was written


def credentials(connection: psycopg.Connection[Any], email: str) -> Row | None:
    return _row(
        connection,
        "SELECT c.customer_id, c.password_hash, c.display_name, k.is_seller "
        "FROM customer_contact c JOIN customer k USING (customer_id) WHERE c.email = %s",
        (email,),
    )


def recent_login_failures(connection: psycopg.Connection[Any], email: str, client_ip: str, window: timedelta) -> Row:
    row = _row(
        connection,
        "SELECT (SELECT count(*) FROM login_failure WHERE email = %(email)s AND failed_at > now() - %(window)s) "
        "AS by_email, "
        "(SELECT count(*) FROM login_failure WHERE client_ip = %(ip)s AND failed_at > now() - %(window)s) AS by_ip",
        {"email": email, "ip": client_ip, "window": window},
    )
    assert row is not None
    return row


def record_login_failure(connection: psycopg.Connection[Any], email: str, client_ip: str) -> None:
    connection.execute("INSERT INTO login_failure (email, client_ip) VALUES (%s, %s)", (email, client_ip))


def forget_login_failures(connection: psycopg.Connection[Any], email: str) -> None:
    connection.execute("DELETE FROM login_failure WHERE email = %s", (email,))


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_session(connection: psycopg.Connection[Any], customer_id: int, lifetime: timedelta) -> tuple[str, str]:
    """A new session's cookie token and CSRF token."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    connection.execute(
        "INSERT INTO shop_session (token_hash, customer_id, csrf_token, expires_at) VALUES (%s, %s, %s, now() + %s)",
        (_token_hash(token), customer_id, csrf, lifetime),
    )
    return token, csrf


def session_customer(connection: psycopg.Connection[Any], token: str) -> Row | None:
    return _row(
        connection,
        "SELECT s.customer_id, s.csrf_token, k.is_seller, c.display_name, c.email "
        "FROM shop_session s JOIN customer k USING (customer_id) JOIN customer_contact c USING (customer_id) "
        "WHERE s.token_hash = %s AND s.expires_at > now()",
        (_token_hash(token),),
    )


def close_session(connection: psycopg.Connection[Any], token: str) -> None:
    connection.execute("DELETE FROM shop_session WHERE token_hash = %s", (_token_hash(token),))


# ---------------------------------------------------------------- products

_WORD = re.compile(r"\w+", re.UNICODE)


def search_query(text: str) -> str | None:
    """A tsquery matching every word of `text` as a prefix; words only, so no tsquery syntax gets through."""
    words = _WORD.findall(text.lower())[:8]
    return " & ".join(f"{word}:*" for word in words) or None


# A page's cursor is the keyset of its last product: microseconds since 1970 and the product id.
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,18}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(created_at: datetime, product_id: int) -> str:
    return f"{(created_at - _EPOCH) // timedelta(microseconds=1)}.{product_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    if not re.match(CURSOR_PATTERN, cursor):
        raise UnprocessableError("cursor: not one this shop gave")
    micros, product_id = cursor.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), int(product_id)


_PRODUCT_COLUMNS = (
    "p.product_id, p.seller_id, p.name, p.description, p.category, p.price, p.currency, p.stock, p.is_listed, "
    "p.created_at, (SELECT i.s3_key FROM product_image i WHERE i.product_id = p.product_id "
    "ORDER BY i.position LIMIT 1) AS image_key"
)


def list_products(
    connection: psycopg.Connection[Any], *, category: str | None, text: str | None, limit: int, cursor: str | None
) -> tuple[list[Row], str | None]:
    """Listed products, newest first, one page; the next page's cursor or None."""
    where: list[str] = ["p.is_listed"]
    params: dict[str, Any] = {"limit": limit + 1}
    if category:
        where.append("p.category = %(category)s")
        params["category"] = category
    query = search_query(text) if text and text.strip() else None
    if text and text.strip() and not query:
        return [], None  # a search with no words in it finds nothing
    if query:
        where.append("p.search @@ to_tsquery('simple', %(query)s)")
        params["query"] = query
    if cursor:
        params["after_time"], params["after_id"] = decode_cursor(cursor)
        where.append("(p.created_at, p.product_id) < (%(after_time)s, %(after_id)s)")
    rows = _rows(
        connection,
        f"SELECT {_PRODUCT_COLUMNS} FROM product p WHERE {' AND '.join(where)} "  # noqa: S608 - our own fragments; values are parameters
        "ORDER BY p.created_at DESC, p.product_id DESC LIMIT %(limit)s",
        params,
    )
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = encode_cursor(rows[-1]["created_at"], rows[-1]["product_id"])
    return rows, following


def get_product(connection: psycopg.Connection[Any], product_id: int, *, listed_only: bool = True) -> Row:
    row = _row(
        connection,
        f"SELECT {_PRODUCT_COLUMNS}, "  # noqa: S608 - our own columns
        "(SELECT avg(r.rating)::float FROM review r JOIN purchase u USING (purchase_id) "
        "WHERE u.product_id = p.product_id) AS rating, "
        "(SELECT count(*) FROM review r JOIN purchase u USING (purchase_id) WHERE u.product_id = p.product_id) "
        "AS reviews FROM product p WHERE p.product_id = %s",
        (product_id,),
    )
    if row is None or (listed_only and not row["is_listed"]):
        raise NotFoundError("no such product")
    row["image_keys"] = [
        r["s3_key"]
        for r in _rows(
            connection, "SELECT s3_key FROM product_image WHERE product_id = %s ORDER BY position", (product_id,)
        )
    ]
    return row


def create_product(
    connection: psycopg.Connection[Any],
    *,
    seller_id: int,
    name: str,
    description: str | None,
    category: str,
    price: Decimal,
    currency: str,
    stock: int,
    image_types: list[str],
) -> tuple[int, list[tuple[str, str]]]:
    """The new product's id and its images' (S3 key, content type), to be uploaded."""
    with connection.transaction():
        row = _row(
            connection,
            "INSERT INTO product (seller_id, name, description, category, price, currency, stock) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING product_id",
            (seller_id, name, description, category, price, currency, stock),
        )
        assert row is not None
        product_id = int(row["product_id"])
        images = []
        for position, content_type in enumerate(image_types):
            key = f"products/{product_id}/{uuid.uuid4().hex}.{content_type.rsplit('/', 1)[1]}"
            connection.execute(
                "INSERT INTO product_image (product_id, position, s3_key, content_type) VALUES (%s, %s, %s, %s)",
                (product_id, position, key, content_type),
            )
            images.append((key, content_type))
    return product_id, images


def update_product(connection: psycopg.Connection[Any], *, seller_id: int, product_id: int, changes: Row) -> Row:
    allowed = {"price", "stock", "is_listed", "description", "name"}
    changes = {name: value for name, value in changes.items() if name in allowed and value is not None}
    with connection.transaction():
        owner = _row(connection, "SELECT seller_id FROM product WHERE product_id = %s FOR UPDATE", (product_id,))
        if owner is None:
            raise NotFoundError("no such product")
        if owner["seller_id"] != seller_id:
            raise ForbiddenError("only the seller changes a product")
        for name, value in changes.items():
            # `name` is one of `allowed`, never the client's text.
            connection.execute(f"UPDATE product SET {name} = %s WHERE product_id = %s", (value, product_id))  # noqa: S608
    return get_product(connection, product_id, listed_only=False)


def seller_products(connection: psycopg.Connection[Any], seller_id: int) -> list[Row]:
    return _rows(
        connection,
        f"SELECT {_PRODUCT_COLUMNS} FROM product p WHERE p.seller_id = %s ORDER BY p.created_at DESC LIMIT 200",  # noqa: S608
        (seller_id,),
    )


# ---------------------------------------------------------------- cart


def cart(connection: psycopg.Connection[Any], customer_id: int) -> list[Row]:
    return _rows(
        connection,
        "SELECT c.product_id, c.quantity, p.name, p.price, p.currency, p.stock, p.category "
        "FROM cart_item c JOIN product p USING (product_id) WHERE c.customer_id = %s ORDER BY c.added_at",
        (customer_id,),
    )


def put_in_cart(connection: psycopg.Connection[Any], customer_id: int, product_id: int, quantity: int) -> Row:
    product = get_product(connection, product_id)
    if product["seller_id"] == customer_id:
        raise ForbiddenError("sellers do not buy their own products")
    connection.execute(
        "INSERT INTO cart_item (customer_id, product_id, quantity) VALUES (%s, %s, %s) "
        "ON CONFLICT (customer_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity",
        (customer_id, product_id, quantity),
    )
    return product


def remove_from_cart(connection: psycopg.Connection[Any], customer_id: int, product_id: int) -> Row | None:
    return _row(
        connection,
        "DELETE FROM cart_item c USING product p WHERE c.customer_id = %s AND c.product_id = %s "
        "AND p.product_id = c.product_id RETURNING c.product_id, c.quantity, p.price, p.category",
        (customer_id, product_id),
    )


# ---------------------------------------------------------------- orders and payments


@dataclass(frozen=True)
class Placed:
    order: Row
    replayed: bool


def place_order(connection: psycopg.Connection[Any], customer_id: int, idempotency_key: str) -> Placed:
    """The cart becomes an order, its stock reserved in the same transaction. The same key is the same order."""
    with connection.transaction():
        created = _row(
            connection,
            "INSERT INTO customer_order (order_id, customer_id, idempotency_key, total, currency) "
            "VALUES (%s, %s, %s, 0, 'USD') ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING order_id",
            (uuid.uuid4(), customer_id, idempotency_key),
        )
        if created is None:
            existing = _row(
                connection,
                "SELECT order_id FROM customer_order WHERE customer_id = %s AND idempotency_key = %s",
                (customer_id, idempotency_key),
            )
            assert existing is not None
            return Placed(get_order(connection, customer_id, existing["order_id"]), replayed=True)
        order_id = created["order_id"]
        # Locked in one order (by product id), so two checkouts sharing products never deadlock.
        lines = _rows(
            connection,
            "SELECT c.product_id, c.quantity, p.price, p.currency, p.stock, p.is_listed, p.name "
            "FROM cart_item c JOIN product p USING (product_id) WHERE c.customer_id = %s "
            "ORDER BY c.product_id FOR UPDATE OF p",
            (customer_id,),
        )
        if not lines:
            raise ConflictError("the cart is empty")
        short = [line["name"] for line in lines if line["stock"] < line["quantity"] or not line["is_listed"]]
        if short:
            raise ConflictError("not enough stock: " + ", ".join(short))
        currencies = {line["currency"] for line in lines}
        if len(currencies) > 1:
            raise ConflictError("one order is paid in one currency")
        total = sum((line["price"] * line["quantity"] for line in lines), Decimal(0))
        for line in lines:
            connection.execute(
                "UPDATE product SET stock = stock - %s WHERE product_id = %s", (line["quantity"], line["product_id"])
            )
            connection.execute(
                "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price, currency) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (order_id, customer_id, line["product_id"], line["quantity"], line["price"], line["currency"]),
            )
        connection.execute(
            "UPDATE customer_order SET total = %s, currency = %s WHERE order_id = %s",
            (total, currencies.pop(), order_id),
        )
        connection.execute("DELETE FROM cart_item WHERE customer_id = %s", (customer_id,))
        return Placed(get_order(connection, customer_id, order_id), replayed=False)


def get_order(connection: psycopg.Connection[Any], customer_id: int, order_id: uuid.UUID) -> Row:
    """The customer's own order; another customer's is not found (its existence is not told)."""
    order = _row(
        connection,
        "SELECT order_id, status, total, currency, created_at FROM customer_order "
        "WHERE order_id = %s AND customer_id = %s",
        (order_id, customer_id),
    )
    if order is None:
        raise NotFoundError("no such order")
    order["lines"] = _rows(
        connection,
        "SELECT u.purchase_id, u.product_id, p.name, p.category, u.quantity, u.unit_price, u.status, "
        "EXISTS (SELECT 1 FROM review r WHERE r.purchase_id = u.purchase_id) AS reviewed "
        "FROM purchase u JOIN product p USING (product_id) WHERE u.order_id = %s ORDER BY u.purchase_id",
        (order_id,),
    )
    return order


def list_orders(connection: psycopg.Connection[Any], customer_id: int) -> list[Row]:
    ids = _rows(
        connection,
        "SELECT order_id FROM customer_order WHERE customer_id = %s ORDER BY created_at DESC LIMIT 50",
        (customer_id,),
    )
    return [get_order(connection, customer_id, row["order_id"]) for row in ids]


@dataclass(frozen=True)
class Paid:
    payment: Row
    order: Row
    replayed: bool


def pay_order(
    connection: psycopg.Connection[Any],
    provider: PaymentProvider,
    *,
    customer_id: int,
    order_id: uuid.UUID,
    idempotency_key: str,
    card: Card,
) -> Paid:
    """Pay an order once. The order's row is locked throughout, so a second click waits and then sees the first."""
    with connection.transaction():
        order = _row(
            connection,
            "SELECT order_id, status, total, currency FROM customer_order "
            "WHERE order_id = %s AND customer_id = %s FOR UPDATE",
            (order_id, customer_id),
        )
        if order is None:
            raise NotFoundError("no such order")
        earlier = _row(
            connection,
            "SELECT payment_id, outcome, decline_reason, amount, currency, card_last4, provider_reference "
            "FROM payment WHERE order_id = %s AND idempotency_key = %s",
            (order_id, idempotency_key),
        )
        if earlier is not None:
            return Paid(earlier, get_order(connection, customer_id, order_id), replayed=True)
        if order["status"] == "paid":
            raise ConflictError("the order is already paid")
        if order["status"] != "pending":
            raise ConflictError(f"the order is {order['status']}")
        # A mistyped number is declined here: the provider is never asked (nor charges) for it.
        result = (
            provider.authorise(
                amount=order["total"], currency=order["currency"], card=card, idempotency_key=idempotency_key
            )
            if luhn_valid(card.number)
            else PaymentResult(authorised=False, reference=None, decline_reason="invalid_card_number")
        )
        payment = _row(
            connection,
            "INSERT INTO payment (order_id, idempotency_key, provider, provider_reference, outcome, decline_reason, "
            "amount, currency, card_last4) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING payment_id, outcome, decline_reason, amount, currency, card_last4, provider_reference",
            (order_id, idempotency_key, provider.name, result.reference,
             "authorised" if result.authorised else "declined", result.decline_reason,
             order["total"], order["currency"], card.last4),
        )  # fmt: skip
        assert payment is not None
        if result.authorised:
            connection.execute("UPDATE customer_order SET status = 'paid' WHERE order_id = %s", (order_id,))
            connection.execute(
                "UPDATE purchase SET status = 'paid', paid_at = now() WHERE order_id = %s AND status = 'pending'",
                (order_id,),
            )
        return Paid(payment, get_order(connection, customer_id, order_id), replayed=False)


def cancel_order(connection: psycopg.Connection[Any], customer_id: int, order_id: uuid.UUID) -> Row:
    """Cancel an unpaid order and give its reserved stock back."""
    with connection.transaction():
        order = _row(
            connection,
            "SELECT status FROM customer_order WHERE order_id = %s AND customer_id = %s FOR UPDATE",
            (order_id, customer_id),
        )
        if order is None:
            raise NotFoundError("no such order")
        if order["status"] != "pending":
            raise ConflictError(f"the order is {order['status']}")
        for line in _rows(
            connection,
            "SELECT product_id, quantity FROM purchase WHERE order_id = %s ORDER BY product_id",
            (order_id,),
        ):
            connection.execute(
                "UPDATE product SET stock = stock + %s WHERE product_id = %s", (line["quantity"], line["product_id"])
            )
        connection.execute("UPDATE purchase SET status = 'cancelled' WHERE order_id = %s", (order_id,))
        connection.execute("UPDATE customer_order SET status = 'cancelled' WHERE order_id = %s", (order_id,))
        return get_order(connection, customer_id, order_id)


# ---------------------------------------------------------------- reviews


def write_review(
    connection: psycopg.Connection[Any], *, customer_id: int, purchase_id: int, rating: int, body: str | None
) -> Row:
    """Only the buyer reviews, once per bought line, after paying."""
    with connection.transaction():
        line = _row(
            connection,
            "SELECT status, product_id FROM purchase WHERE purchase_id = %s AND customer_id = %s",
            (purchase_id, customer_id),
        )
        if line is None:
            raise NotFoundError("no such purchase")
        if line["status"] not in SOLD:
            raise ConflictError("only a paid purchase can be reviewed")
        try:
            with connection.transaction():
                review = _row(
                    connection,
                    "INSERT INTO review (purchase_id, rating, body) VALUES (%s, %s, %s) "
                    "RETURNING review_id, purchase_id, rating, body, created_at",
                    (purchase_id, rating, body),
                )
        except psycopg.errors.UniqueViolation:
            raise ConflictError("this purchase is already reviewed") from None
        assert review is not None
        review["product_id"] = line["product_id"]
        return review


def product_reviews(connection: psycopg.Connection[Any], product_id: int, limit: int = 50) -> list[Row]:
    return _rows(
        connection,
        "SELECT r.review_id, r.rating, r.body, r.created_at, c.display_name FROM review r "
        "JOIN purchase u USING (purchase_id) LEFT JOIN customer_contact c ON c.customer_id = u.customer_id "
        "WHERE u.product_id = %s ORDER BY r.created_at DESC LIMIT %s",
        (product_id, limit),
    )


# ---------------------------------------------------------------- housekeeping


def housekeeping(connection: psycopg.Connection[Any], *, unpaid_after: timedelta) -> dict[str, int]:
    """Expired sessions and day-old login failures go; orders left unpaid give their stock back."""
    sessions = connection.execute("DELETE FROM shop_session WHERE expires_at < now()").rowcount
    connection.execute("DELETE FROM login_failure WHERE failed_at < now() - interval '1 day'")
    abandoned = _rows(
        connection,
        "SELECT customer_id, order_id FROM customer_order WHERE status = 'pending' AND created_at < now() - %s",
        (unpaid_after,),
    )
    released = 0
    for order in abandoned:
        try:
            cancel_order(connection, order["customer_id"], order["order_id"])
            released += 1
        except ConflictError:
            pass  # paid or cancelled meanwhile
    return {"sessions": sessions, "orders": released}
