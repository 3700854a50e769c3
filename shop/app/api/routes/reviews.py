"""Reviews: a product's, and a buyer reviewing what they bought."""

from __future__ import annotations

from fastapi import APIRouter

from shop.app.api.deps import ActingCustomer, ConnectionDep, RowId
from shop.app.api.schemas import Review, ReviewIn, Reviews
from shop.app.db import products as catalogue
from shop.app.db import reviews as review_rows

router = APIRouter(tags=["reviews"])


@router.get("/products/{product_id}/reviews", response_model=Reviews)
def reviews(*, db: ConnectionDep, product_id: RowId) -> Reviews:
    catalogue.get_product(db, product_id)  # an unknown or unlisted product is not found
    return Reviews.model_validate({"reviews": review_rows.product_reviews(db, product_id)})


@router.post("/purchases/{purchase_id}/review", status_code=201, response_model=Review)
def review(*, body: ReviewIn, db: ConnectionDep, customer: ActingCustomer, purchase_id: RowId) -> Review:
    written = review_rows.write_review(
        db, customer_id=customer.customer_id, purchase_id=purchase_id, rating=body.rating, body=body.body
    )
    return Review(review_id=written.review_id, rating=written.rating, body=written.body,
                  created_at=written.created_at, display_name=customer.display_name)  # fmt: skip
