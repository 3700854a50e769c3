"""The catalogue: its categories, listing pages and product pages; sellers posting and changing products."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request

from shop.app.api.deps import ConnectionDep, CurrentCustomer, RowId, SellerCustomer, ServicesDep, visit_and_read
from shop.app.api.schemas import (
    Categories,
    Posted,
    Product,
    ProductChange,
    ProductDetail,
    ProductIn,
    ProductPage,
    Upload,
)
from shop.app.db import products as catalogue
from shop.app.errors import ForbiddenError, UnprocessableError
from shoplake.business import CATEGORIES, EventType

router = APIRouter()


@router.get("/categories", response_model=Categories, tags=["products"])
async def categories() -> Categories:
    """The product categories, in the order the storefront lists them (the only ones a product may have)."""
    return Categories(categories=list(CATEGORIES))


@router.get("/products", response_model=ProductPage, tags=["products"])
async def products(
    *,
    request: Request,
    svc: ServicesDep,
    category: Annotated[str | None, Query(max_length=64, pattern=r"^[\w -]+$")] = None,
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,  # no control characters
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
    cursor: Annotated[str | None, Query(pattern=catalogue.CURSOR_PATTERN)] = None,
) -> ProductPage:
    """Listed products, newest first; `next_cursor` asks for the following page."""
    visit, page = await visit_and_read(
        request, svc, lambda db: catalogue.list_products(db, category=category, text=q, limit=limit, cursor=cursor)
    )
    if q:
        svc.clicks.emit(EventType.SEARCH, visit, search_term=q[:256], category=category)
    return ProductPage(items=[Product.of(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/products/{product_id}", response_model=ProductDetail, tags=["products"])
async def product(*, request: Request, product_id: RowId, svc: ServicesDep) -> ProductDetail:
    visit, row = await visit_and_read(request, svc, lambda db: catalogue.get_product(db, product_id))
    svc.clicks.emit(EventType.PRODUCT_VIEW, visit, product_id=str(product_id), category=row.category)
    return ProductDetail.of(row)


@router.post("/products", status_code=201, response_model=Posted, tags=["selling"])
def post_product(*, body: ProductIn, db: ConnectionDep, customer: SellerCustomer, svc: ServicesDep) -> Posted:
    """A seller posts a product; each image then goes straight to S3 with its presigned POST."""
    if body.images and svc.images is None:
        raise UnprocessableError("image uploads are not configured here")
    created = catalogue.create_product(
        db,
        seller_id=customer.customer_id,
        name=body.name,
        description=body.description,
        category=body.category,
        price=Decimal(body.price),
        currency=body.currency,
        stock=body.stock,
        image_types=list(body.images),
    )
    images = svc.images
    uploads = [Upload(**images.presign(slot.key, slot.content_type)) for slot in created.images] if images else []
    detail = catalogue.get_product(db, created.product_id, listed_only=False)
    return Posted(product=ProductDetail.of(detail), uploads=uploads)


@router.patch("/products/{product_id}", response_model=ProductDetail, tags=["selling"])
def change_product(
    *, body: ProductChange, db: ConnectionDep, customer: SellerCustomer, product_id: RowId
) -> ProductDetail:
    changes = catalogue.ProductChanges(
        name=body.name,
        description=body.description,
        price=Decimal(body.price) if body.price else None,
        stock=body.stock,
        is_listed=body.is_listed,
    )
    row = catalogue.update_product(db, seller_id=customer.customer_id, product_id=product_id, changes=changes)
    return ProductDetail.of(row)


@router.get("/seller/products", response_model=ProductPage, tags=["selling"])
def my_products(*, db: ConnectionDep, customer: CurrentCustomer) -> ProductPage:
    if not customer.is_seller:
        raise ForbiddenError("only sellers have products")
    rows = catalogue.seller_products(db, customer.customer_id)
    return ProductPage(items=[Product.of(row) for row in rows], next_cursor=None)
