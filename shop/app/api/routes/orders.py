"""The cart and orders: what a customer puts in their cart, the order it becomes, and cancelling it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from shop.app.api.deps import (
    ActingCustomer,
    ConnectionDep,
    CurrentCustomer,
    IdempotencyKey,
    RowId,
    ServicesDep,
    VisitDep,
)
from shop.app.api.schemas import Cart, Order, Orders, Quantity
from shop.app.db import orders as order_rows
from shop.app.db.sql import Connection
from shoplake.business import EventType

router = APIRouter(tags=["orders"])


def cart_of(db: Connection, customer_id: int) -> Cart:
    return Cart.model_validate({"lines": order_rows.cart(db, customer_id)})


@router.get("/cart", response_model=Cart)
def get_cart(*, db: ConnectionDep, customer: CurrentCustomer) -> Cart:
    return cart_of(db, customer.customer_id)


@router.put("/cart/{product_id}", response_model=Cart)
def put_cart(*, body: Quantity, db: ConnectionDep, customer: ActingCustomer, visit: VisitDep, product_id: RowId,
             svc: ServicesDep) -> Cart:  # fmt: skip
    row = order_rows.put_in_cart(db, customer.customer_id, product_id, body.quantity)
    svc.clicks.emit(EventType.ADD_TO_CART, visit, product_id=str(product_id), category=row.category,
                    price=float(row.price), quantity=body.quantity)  # fmt: skip
    return cart_of(db, customer.customer_id)


@router.delete("/cart/{product_id}", response_model=Cart)
def delete_cart(*, db: ConnectionDep, customer: ActingCustomer, visit: VisitDep, product_id: RowId,
                svc: ServicesDep) -> Cart:  # fmt: skip
    removed = order_rows.remove_from_cart(db, customer.customer_id, product_id)
    if removed:
        svc.clicks.emit(EventType.REMOVE_FROM_CART, visit, product_id=str(product_id), category=removed.category,
                        price=float(removed.price), quantity=removed.quantity)  # fmt: skip
    return cart_of(db, customer.customer_id)


@router.post(
    "/orders",
    status_code=201,
    response_model=Order,
    responses={200: {"model": Order, "description": "The same Idempotency-Key again: the order it placed"}},
)
def place_order(*, db: ConnectionDep, customer: ActingCustomer, visit: VisitDep, response: Response,
                idempotency_key: IdempotencyKey, svc: ServicesDep) -> Order:  # fmt: skip
    """The cart becomes an order and its stock is reserved; the same Idempotency-Key answers the same order.
    409 `limit_reached` when the customer's unpaid orders are at a cap (the message names it)."""
    placed = order_rows.place_order(db, customer.customer_id, idempotency_key, svc.settings)
    if placed.replayed:
        response.status_code = 200
    else:
        svc.clicks.emit(EventType.CHECKOUT, visit, price=float(placed.order.total))
    return Order.model_validate(placed.order)


@router.get("/orders", response_model=Orders)
def orders(*, db: ConnectionDep, customer: CurrentCustomer) -> Orders:
    return Orders.model_validate({"orders": order_rows.list_orders(db, customer.customer_id)})


@router.get("/orders/{order_id}", response_model=Order)
def order(*, db: ConnectionDep, customer: CurrentCustomer, order_id: uuid.UUID) -> Order:
    return Order.model_validate(order_rows.get_order(db, customer.customer_id, order_id))


@router.post("/orders/{order_id}/cancel", response_model=Order)
def cancel(*, db: ConnectionDep, customer: ActingCustomer, order_id: uuid.UUID) -> Order:
    return Order.model_validate(order_rows.cancel_order(db, customer.customer_id, order_id))
