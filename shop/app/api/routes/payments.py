"""Paying an order through the payment provider."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shop.app.api.deps import ActingCustomer, ConnectionDep, IdempotencyKey, ServicesDep, VisitDep
from shop.app.api.schemas import CardIn, Order, Payment
from shop.app.db import payments as payment_rows
from shop.app.payments import Card
from shoplake.business import EventType

router = APIRouter(tags=["orders"])


@router.post(
    "/orders/{order_id}/payment",
    response_model=Payment,
    status_code=201,
    responses={402: {"model": Payment, "description": "Declined"}},
)
def pay(*, body: CardIn, db: ConnectionDep, customer: ActingCustomer, visit: VisitDep, order_id: uuid.UUID,
        idempotency_key: IdempotencyKey, svc: ServicesDep) -> JSONResponse:  # fmt: skip
    """Pay an order through the payment provider: 201 authorised, 402 declined. A replay answers the same."""
    paid = payment_rows.pay_order(
        db,
        svc.payments,
        customer_id=customer.customer_id,
        order_id=order_id,
        idempotency_key=idempotency_key,
        card=Card(body.card_number, body.expiry_month, body.expiry_year, body.cvc),
    )
    row = paid.payment
    assert row.outcome != "pending"  # pay_order answers an attempt before it returns it
    answer = Payment(outcome=row.outcome, decline_reason=row.decline_reason, amount=row.amount, currency=row.currency,
                     card_last4=row.card_last4, order=Order.model_validate(paid.order))  # fmt: skip
    authorised = answer.outcome == "authorised"
    if authorised and not paid.replayed:
        for line in paid.order.lines:
            svc.clicks.emit(EventType.PURCHASE, visit, product_id=str(line.product_id), category=line.category,
                            price=float(line.unit_price), quantity=line.quantity)  # fmt: skip
    return JSONResponse(answer.model_dump(mode="json"), 201 if authorised else 402)
