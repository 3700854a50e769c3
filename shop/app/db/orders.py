"""Carts and orders (tables cart_item, customer_order, purchase): an order reserves its stock when it
is placed and gives it back when it is cancelled.

Every read-modify-write of a customer's cart or orders (checking out, cancelling, paying) first
locks that customer's row (`lock_customer`), then the order's, then products' in product id order:
two tabs, two clicks or housekeeping never interleave on one customer, and never deadlock.
Putting a product in the cart or taking it out is one statement, which waits for none of them;
a checkout takes out of the cart only the lines it read, at the quantity it read, so a line put
in or changed meanwhile stays in the cart.

An order's lines are purchase rows, whose status follows the order's (business.OrderStatus). Money
is `Decimal` in the order's one currency; instants are aware UTC `datetime`s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shop.app.db.products import ProductDetail, get_product
from shop.app.db.sql import Connection, fetch_all, fetch_dicts, fetch_one
from shop.app.errors import ConflictError, ForbiddenError, LimitReachedError, NotFoundError, UnprocessableError
from shop.app.settings import Settings
from shoplake.business import OrderStatus

ORDERS_LISTED = 50
DEFAULTS = Settings()
TOTAL_MAX = Decimal("9999999999.99")
"""The largest order total the shop keeps (customer_order.total, numeric(12, 2))."""


@dataclass(frozen=True, slots=True)
class CartLine:
    """A product in a cart, with its current price (in `currency`) and stock."""

    product_id: int
    quantity: int
    name: str
    price: Decimal
    currency: str
    stock: int
    category: str


@dataclass(frozen=True, slots=True)
class RemovedLine:
    """A line taken out of a cart: how many of which product, at what price, in which category."""

    product_id: int
    quantity: int
    price: Decimal
    category: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order (a purchase row): `unit_price` in the order's currency."""

    purchase_id: int
    product_id: int
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    status: OrderStatus
    reviewed: bool


@dataclass(frozen=True, slots=True)
class Order:
    """An order: its status (pending, paid or cancelled), total in `currency`, and lines."""

    order_id: uuid.UUID
    status: OrderStatus
    total: Decimal
    currency: str
    created_at: datetime
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True, slots=True)
class Placed:
    """The order a checkout placed; `replayed` when its idempotency key had already placed it."""

    order: Order
    replayed: bool


@dataclass(frozen=True, slots=True)
class _Reserved:
    product_id: int
    quantity: int
    price: Decimal
    currency: str
    stock: int
    is_listed: bool
    name: str


def cart(connection: Connection, customer_id: int) -> list[CartLine]:
    """The customer's cart, in the order things were put in."""
    return fetch_all(
        connection,
        CartLine,
        "SELECT c.product_id, c.quantity, p.name, p.price, p.currency, p.stock, p.category "
        "FROM cart_item c JOIN product p USING (product_id) WHERE c.customer_id = %s ORDER BY c.added_at",
        (customer_id,),
    )


def lock_customer(connection: Connection, customer_id: int) -> None:
    """Lock the customer's row until the caller's transaction ends: the first step of every
    read-modify-write of the customer's cart or orders, so that two of them run one after the other.

    Call inside a transaction. FOR NO KEY UPDATE: it waits for the customer's other such changes,
    yet not for rows that merely refer to the customer (a new session, a cart line's foreign key).
    """
    connection.execute("SELECT 1 FROM customer WHERE customer_id = %s FOR NO KEY UPDATE", (customer_id,))


def put_in_cart(connection: Connection, customer_id: int, product_id: int, quantity: int) -> ProductDetail:
    """Set how many of a listed product (1-99) are in the customer's cart; returns the product.

    Raises NotFoundError for a product not listed, ForbiddenError for the customer's own product.
    """
    product = get_product(connection, product_id)
    if product.seller_id == customer_id:
        raise ForbiddenError("sellers do not buy their own products")
    connection.execute(
        "INSERT INTO cart_item (customer_id, product_id, quantity) VALUES (%s, %s, %s) "
        "ON CONFLICT (customer_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity",
        (customer_id, product_id, quantity),
    )
    return product


def remove_from_cart(connection: Connection, customer_id: int, product_id: int) -> RemovedLine | None:
    """Take a product out of the customer's cart; returns the line removed, or None if it was not there."""
    return fetch_one(
        connection,
        RemovedLine,
        "DELETE FROM cart_item c USING product p WHERE c.customer_id = %s AND c.product_id = %s "
        "AND p.product_id = c.product_id RETURNING c.product_id, c.quantity, p.price, p.category",
        (customer_id, product_id),
    )


def place_order(
    connection: Connection, customer_id: int, idempotency_key: str, settings: Settings = DEFAULTS
) -> Placed:
    """Turn the customer's cart into a pending order, reserving its stock, in one transaction.

    The same `idempotency_key` (8-100 characters) from the same customer answers the order it placed
    (`replayed`), whatever the cart holds now: a retry whose first answer was lost finds the cart
    emptied by that first checkout, or refilled since, and must still get the order it placed. A
    second checkout of the same cart waits for the first and finds the cart empty. Only the lines
    ordered leave the cart. Raises ConflictError for an empty cart, a product short of stock or no
    longer listed, or products in more than one currency; LimitReachedError when the customer has
    `settings.pending_orders_max` unpaid orders already, or their unpaid orders would hold more than
    `settings.reserved_units_per_product_max` units of one product (however old those orders are:
    an order past its hold still holds its stock until housekeeping cancels it); UnprocessableError
    for a total above TOTAL_MAX (nothing is written then).
    """
    with connection.transaction():
        lock_customer(connection, customer_id)
        created = connection.execute(
            "INSERT INTO customer_order (order_id, customer_id, idempotency_key, total, currency) "
            "VALUES (%s, %s, %s, 0, 'USD') ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING order_id",
            (uuid.uuid4(), customer_id, idempotency_key),
        ).fetchone()
        if created is None:
            existing = connection.execute(
                "SELECT order_id FROM customer_order WHERE customer_id = %s AND idempotency_key = %s",
                (customer_id, idempotency_key),
            ).fetchone()
            assert existing is not None
            return Placed(get_order(connection, customer_id, existing[0]), replayed=True)
        order_id = created[0]
        # Locked in one order (by product id), so two checkouts sharing products never deadlock; NO KEY,
        # as only the stock changes, so that putting the product in a cart (a foreign key) need not wait.
        lines = fetch_all(
            connection,
            _Reserved,
            "SELECT c.product_id, c.quantity, p.price, p.currency, p.stock, p.is_listed, p.name "
            "FROM cart_item c JOIN product p USING (product_id) WHERE c.customer_id = %s "
            "ORDER BY c.product_id FOR NO KEY UPDATE OF p",
            (customer_id,),
        )
        if not lines:
            raise ConflictError("the cart is empty")
        _check_limits(connection, customer_id, order_id, lines, settings)
        short = [line.name for line in lines if line.stock < line.quantity or not line.is_listed]
        if short:
            raise ConflictError("not enough stock: " + ", ".join(short))
        currencies = {line.currency for line in lines}
        if len(currencies) > 1:
            raise ConflictError("one order is paid in one currency")
        total = sum((line.price * line.quantity for line in lines), Decimal(0))
        if total > TOTAL_MAX:
            raise UnprocessableError(f"total: an order totals at most {TOTAL_MAX}; order fewer at once")
        for line in lines:
            connection.execute(
                "UPDATE product SET stock = stock - %s WHERE product_id = %s", (line.quantity, line.product_id)
            )
            connection.execute(
                "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price, currency, status) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (order_id, customer_id, line.product_id, line.quantity, line.price, line.currency,
                 OrderStatus.PENDING.value),
            )  # fmt: skip
        connection.execute(
            "UPDATE customer_order SET total = %s, currency = %s WHERE order_id = %s",
            (total, currencies.pop(), order_id),
        )
        # The lines ordered, at the quantity ordered: never a line the checkout did not read.
        connection.execute(
            "DELETE FROM cart_item c USING unnest(%s::bigint[], %s::integer[]) AS o (product_id, quantity) "
            "WHERE c.customer_id = %s AND c.product_id = o.product_id AND c.quantity = o.quantity",
            ([line.product_id for line in lines], [line.quantity for line in lines], customer_id),
        )
        return Placed(get_order(connection, customer_id, order_id), replayed=False)


def _check_limits(
    connection: Connection, customer_id: int, order_id: uuid.UUID, lines: list[_Reserved], settings: Settings
) -> None:
    """Raise LimitReachedError, naming the setting, if the new order `order_id` of `lines` would take the
    customer past a cap. Call holding the customer's lock (`lock_customer`), so that no other checkout
    of theirs counts meanwhile."""
    pending = connection.execute(
        "SELECT count(*) FROM customer_order WHERE customer_id = %s AND status = %s AND order_id <> %s",
        (customer_id, OrderStatus.PENDING.value, order_id),
    ).fetchone()
    assert pending is not None
    if pending[0] >= settings.pending_orders_max:
        raise LimitReachedError(
            f"pending_orders_max: at most {settings.pending_orders_max} unpaid orders at a time; "
            "pay or cancel one first"
        )
    held = dict(
        connection.execute(
            "SELECT product_id, sum(quantity) FROM purchase WHERE customer_id = %s AND status = %s "
            "AND product_id = ANY(%s) GROUP BY product_id",
            (customer_id, OrderStatus.PENDING.value, [line.product_id for line in lines]),
        ).fetchall()
    )
    most = settings.reserved_units_per_product_max
    over = [line.name for line in lines if held.get(line.product_id, 0) + line.quantity > most]
    if over:
        raise LimitReachedError(
            f"reserved_units_per_product_max: unpaid orders hold at most {most} of one product: " + ", ".join(over)
        )


def get_order(connection: Connection, customer_id: int, order_id: uuid.UUID) -> Order:
    """The customer's own order with its lines. Raises NotFoundError for another customer's (its existence
    is not told) or none."""
    found = fetch_dicts(
        connection,
        "SELECT order_id, status, total, currency, created_at FROM customer_order "
        "WHERE order_id = %s AND customer_id = %s",
        (order_id, customer_id),
    )
    if not found:
        raise NotFoundError("no such order")
    lines = fetch_dicts(
        connection,
        "SELECT u.purchase_id, u.product_id, p.name, p.category, u.quantity, u.unit_price, u.status, "
        "EXISTS (SELECT 1 FROM review r WHERE r.purchase_id = u.purchase_id) AS reviewed "
        "FROM purchase u JOIN product p USING (product_id) WHERE u.order_id = %s ORDER BY u.purchase_id",
        (order_id,),
    )
    header = found[0]
    return Order(
        **{**header, "status": OrderStatus(header["status"])},
        lines=tuple(OrderLine(**{**line, "status": OrderStatus(line["status"])}) for line in lines),
    )


def list_orders(connection: Connection, customer_id: int) -> list[Order]:
    """The customer's 50 newest orders, newest first."""
    ids = connection.execute(
        "SELECT order_id FROM customer_order WHERE customer_id = %s ORDER BY created_at DESC LIMIT %s",
        (customer_id, ORDERS_LISTED),
    ).fetchall()
    return [get_order(connection, customer_id, order_id) for (order_id,) in ids]


def lock_order(connection: Connection, customer_id: int, order_id: uuid.UUID) -> tuple[OrderStatus, Decimal, str]:
    """Lock the customer's order until the caller's transaction ends; returns its status, total and currency.

    Call inside a transaction, after `lock_customer`. Raises NotFoundError for another customer's order
    or none.
    """
    row = connection.execute(
        "SELECT status, total, currency FROM customer_order WHERE order_id = %s AND customer_id = %s FOR UPDATE",
        (order_id, customer_id),
    ).fetchone()
    if row is None:
        raise NotFoundError("no such order")
    return OrderStatus(row[0]), row[1], row[2]


def mark_paid(connection: Connection, order_id: uuid.UUID) -> None:
    """The order and its pending lines are paid, now. Call with the order locked (`lock_order`)."""
    connection.execute("UPDATE customer_order SET status = %s WHERE order_id = %s", (OrderStatus.PAID.value, order_id))
    connection.execute(
        "UPDATE purchase SET status = %s, paid_at = now() WHERE order_id = %s AND status = %s",
        (OrderStatus.PAID.value, order_id, OrderStatus.PENDING.value),
    )


def cancel_order(connection: Connection, customer_id: int, order_id: uuid.UUID) -> Order:
    """Cancel the customer's pending order and give its reserved stock back, in one transaction.

    Raises NotFoundError for another customer's order or none, ConflictError unless it is pending or
    while a payment of it has no answer yet (shop.app.db.payments: it may have been captured).
    """
    with connection.transaction():
        lock_customer(connection, customer_id)
        status, _, _ = lock_order(connection, customer_id, order_id)
        if status != OrderStatus.PENDING:
            raise ConflictError(f"the order is {status}")
        if connection.execute(
            "SELECT 1 FROM payment WHERE order_id = %s AND outcome = 'pending'", (order_id,)
        ).fetchone():
            raise ConflictError("a payment of the order has no answer yet")
        for product_id, quantity in connection.execute(
            "SELECT product_id, quantity FROM purchase WHERE order_id = %s ORDER BY product_id", (order_id,)
        ).fetchall():
            connection.execute("UPDATE product SET stock = stock + %s WHERE product_id = %s", (quantity, product_id))
        cancelled = OrderStatus.CANCELLED.value
        connection.execute("UPDATE purchase SET status = %s WHERE order_id = %s", (cancelled, order_id))
        connection.execute("UPDATE customer_order SET status = %s WHERE order_id = %s", (cancelled, order_id))
        return get_order(connection, customer_id, order_id)


def cancel_unpaid_orders(connection: Connection, unpaid_after: timedelta) -> int:
    """Cancel every order still pending `unpaid_after` after it was placed, giving its stock back.

    Returns how many were cancelled; an order paid or cancelled meanwhile, or with a payment that has
    no answer yet, is left as it is.
    """
    abandoned = connection.execute(
        "SELECT customer_id, order_id FROM customer_order WHERE status = %s AND created_at < now() - %s",
        (OrderStatus.PENDING.value, unpaid_after),
    ).fetchall()
    cancelled = 0
    for customer_id, order_id in abandoned:
        try:
            cancel_order(connection, customer_id, order_id)
            cancelled += 1
        except ConflictError:
            pass  # paid or cancelled since it was read, or a payment of it has no answer yet
    return cancelled
