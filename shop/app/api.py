"""The shop's HTTP API (FastAPI; its OpenAPI description at /openapi.json).

Sessions ride in a Secure, HttpOnly, SameSite=Strict cookie; every request that changes
something on a session must also carry the session's CSRF token in `X-CSRF-Token`. Orders
and payments take an `Idempotency-Key`: the same key is the same order, the same payment.
Every request is recorded in the clickstream (ClickstreamMiddleware), never waiting for it.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http.cookies import SimpleCookie
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from shop.app import store
from shop.app.clicks import Clicks, Visit
from shop.app.images import ImageUploads
from shop.app.passwords import Passwords
from shop.app.payments import Card, PaymentProvider
from shop.app.settings import Settings

SESSION_COOKIE = "shop_session"
VISIT_COOKIE = "shop_visit"
_VISIT_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$"
# Prices are decimal text, as they are shown: never a binary float.
PRICE_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
IDEMPOTENCY_KEY = Annotated[
    str, Header(alias="Idempotency-Key", min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
]
CSRF_TOKEN = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=100)]
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class UnauthorisedError(store.ShopError):
    status, code = 401, "unauthorised"


class TooManyAttemptsError(store.ShopError):
    status, code = 429, "too_many_attempts"


# ---------------------------------------------------------------- bodies and answers


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignUp(Strict):
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=10, max_length=128)
    display_name: str | None = Field(default=None, max_length=80)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    gender: Literal["female", "male", "other", "undisclosed"] | None = None
    seller: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.lower()


class Login(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str


class Me(BaseModel):
    customer_id: int
    display_name: str | None
    seller: bool
    csrf_token: str


class Error(BaseModel):
    error: str
    message: str


class ProductIn(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=5000)
    category: Literal[store.CATEGORIES]  # type: ignore[valid-type]
    price: str = Field(pattern=PRICE_PATTERN, examples=["39.90"])
    currency: Literal["USD", "EUR", "KRW", "GBP", "CAD"] = "USD"
    stock: int = Field(ge=0, le=1_000_000)
    # Content types of the images to upload, in order (at most 5).
    images: list[Literal["image/jpeg", "image/png", "image/webp"]] = Field(default_factory=list, max_length=5)


class ProductChange(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=5000)
    price: str | None = Field(default=None, pattern=PRICE_PATTERN)
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    is_listed: bool | None = None


class Product(BaseModel):
    product_id: int
    seller_id: int
    name: str
    description: str | None
    category: str
    price: Decimal
    currency: str
    stock: int
    created_at: datetime
    image_url: str | None


class ProductDetail(Product):
    image_urls: list[str]
    rating: float | None
    reviews: int


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: str | None


class Upload(BaseModel):
    key: str
    url: str
    fields: dict[str, str]


class Posted(BaseModel):
    product: ProductDetail
    uploads: list[Upload]


class CartLine(BaseModel):
    product_id: int
    name: str
    quantity: int
    price: Decimal
    currency: str


class Cart(BaseModel):
    lines: list[CartLine]


class Quantity(Strict):
    quantity: int = Field(ge=1, le=99)


class OrderLine(BaseModel):
    purchase_id: int
    product_id: int
    name: str
    quantity: int
    unit_price: Decimal
    status: str
    reviewed: bool


class Order(BaseModel):
    order_id: uuid.UUID
    status: str
    total: Decimal
    currency: str
    created_at: datetime
    lines: list[OrderLine]


class Orders(BaseModel):
    orders: list[Order]


class CardIn(Strict):
    card_number: str = Field(pattern=r"^[0-9]{12,19}$")
    expiry_month: int = Field(ge=1, le=12)
    expiry_year: int = Field(ge=2000, le=2100)
    cvc: str = Field(pattern=r"^[0-9]{3,4}$")


class Payment(BaseModel):
    outcome: Literal["authorised", "declined"]
    decline_reason: str | None
    amount: Decimal
    currency: str
    card_last4: str
    order: Order


class ReviewIn(Strict):
    rating: int = Field(ge=1, le=5)
    body: str | None = Field(default=None, max_length=5000)


class Review(BaseModel):
    review_id: int
    rating: int
    body: str | None
    created_at: datetime
    display_name: str | None = None


class Reviews(BaseModel):
    reviews: list[Review]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": Error} for status in (400, 401, 403, 404, 409, 413, 429)}


# ---------------------------------------------------------------- middleware


def client_address(scope: MutableMapping[str, Any], hops: int) -> str | None:
    """The client's address: the one the `hops` trusted proxies saw, else the peer's."""
    peer = scope.get("client")
    address = str(peer[0]) if peer else ""
    if hops > 0:
        forwarded = Headers(scope=scope).get("x-forwarded-for", "")
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if len(addresses) >= hops:
            address = addresses[-hops]
    try:
        return str(ipaddress.ip_address(address[:45]))
    except ValueError:
        return None


class ClickstreamMiddleware:
    """Gives each request a Visit (the visitor's clickstream session from a cookie) and records it."""

    def __init__(self, app: ASGIApp, clicks: Clicks, settings: Settings) -> None:
        self.app = app
        self.clicks = clicks
        self.settings = settings

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in ("/healthz", "/static"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is only a new visitor
            cookie = SimpleCookie()
        known = cookie.get(VISIT_COOKIE)
        session_id = known.value if known is not None and _VISIT_ID.match(known.value) else None
        query = scope.get("query_string", b"").decode("latin-1")
        visit = Visit(
            session_id=session_id or secrets.token_urlsafe(18),
            page=scope["path"] + (f"?{query}" if query else ""),
            referrer=headers.get("referer"),
            user_agent=headers.get("user-agent", ""),
            client_ip=client_address(scope, self.settings.forwarded_hops),
        )
        scope.setdefault("state", {})["visit"] = visit

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and session_id is None:
                secure = "; Secure" if self.settings.cookie_secure else ""
                value = f"{VISIT_COOKIE}={visit.session_id}; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax{secure}"
                message.setdefault("headers", []).append((b"set-cookie", value.encode()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not visit.emitted:
                self.clicks.emit("page_view", visit)


class BodyLimitMiddleware:
    """Refuses bodies over the limit: by Content-Length at once, else while they are read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            answer = JSONResponse({"error": "too_large", "message": f"at most {self.max_bytes} bytes"}, 413)
            await answer(scope, receive, send)
            return
        # Small bodies only (JSON), so the whole body is read here first, and refused past the limit.
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                answer = JSONResponse({"error": "too_large", "message": f"at most {self.max_bytes} bytes"}, 413)
                await answer(scope, receive, send)
                return
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: MutableMapping[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)


# ---------------------------------------------------------------- dependencies


@dataclass(frozen=True)
class Services:
    pool: ConnectionPool[psycopg.Connection[Any]]
    settings: Settings
    passwords: Passwords
    payments: PaymentProvider
    clicks: Clicks
    images: ImageUploads | None


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


Svc = Annotated[Services, Depends(services)]
# Dependencies that only compute are async: FastAPI runs sync ones in a worker thread each, which
# costs more than they do. Those that wait on the database stay sync, off the event loop.


def connection(svc: Svc) -> Iterator[psycopg.Connection[Any]]:
    with svc.pool.connection() as conn:
        yield conn


Db = Annotated[psycopg.Connection[Any], Depends(connection)]


def visit_of(request: Request, db: Db) -> Visit:
    """This request's Visit; on a logged-in visitor's request, with their id (one lookup by primary key)."""
    visit = getattr(request.state, "visit", None)
    if not isinstance(visit, Visit):
        visit = Visit("anonymous-visit-0000", request.url.path, None, "", None)
    token = request.cookies.get(SESSION_COOKIE)
    customer = store.session_customer(db, token) if token and len(token) <= 100 else None
    request.state.customer = customer  # signed_in reads it from here: one lookup per request
    if customer is not None:
        visit.user_id = str(customer["customer_id"])
    return visit


VisitOf = Annotated[Visit, Depends(visit_of)]


async def signed_in(request: Request, _: VisitOf) -> store.Row:
    customer: store.Row | None = request.state.customer
    if customer is None:
        raise UnauthorisedError("log in first")
    return customer


Customer = Annotated[store.Row, Depends(signed_in)]


async def acting(customer: Customer, csrf: CSRF_TOKEN = None) -> store.Row:
    """The signed-in customer, for a request that changes something: the CSRF token must match."""
    if not csrf or not hmac.compare_digest(csrf.encode(), customer["csrf_token"].encode()):
        raise store.ForbiddenError("missing or wrong X-CSRF-Token")
    return customer


Acting = Annotated[store.Row, Depends(acting)]


async def seller(customer: Acting) -> store.Row:
    if not customer["is_seller"]:
        raise store.ForbiddenError("only sellers post products")
    return customer


Seller = Annotated[store.Row, Depends(seller)]
RowId = Annotated[int, Path(ge=1, le=2**62)]


def image_url(key: str | None) -> str | None:
    """Images are served through the web tier, which sends them on to the image CDN."""
    return f"/images/{key}" if key else None


def product_out(row: store.Row) -> Product:
    fields = {k: row[k] for k in Product.model_fields if k != "image_url"}
    return Product(**fields, image_url=image_url(row["image_key"]))


def detail_out(row: store.Row) -> ProductDetail:
    return ProductDetail(
        **product_out(row).model_dump(),
        image_urls=[f"/images/{key}" for key in row["image_keys"]],
        rating=row["rating"],
        reviews=row["reviews"],
    )


def cart_out(db: psycopg.Connection[Any], customer_id: int) -> Cart:
    rows = store.cart(db, customer_id)
    return Cart(lines=[CartLine(**{k: row[k] for k in CartLine.model_fields}) for row in rows])


# ---------------------------------------------------------------- routes

api = APIRouter(prefix="/api", responses=ERRORS)

# -------------------------------- accounts


@api.post("/signup", status_code=202, response_model=Accepted, tags=["accounts"])
def sign_up(*, body: SignUp, db: Db, visit: VisitOf, svc: Svc) -> Accepted:
    """The same answer whether or not the e-mail was already known, so it cannot be probed."""
    created = store.sign_up(
        db,
        email=body.email,
        password_hash=svc.passwords.hash(body.password),
        display_name=body.display_name,
        country=body.country,
        birth_year=body.birth_year,
        gender=body.gender,
        seller=body.seller,
    )
    visit.user_id = str(created) if created else None
    svc.clicks.emit("sign_up", visit, country=body.country)
    return Accepted(message="If this e-mail is new, the account is ready: log in.")


@api.post("/login", response_model=Me, tags=["accounts"])
def log_in(*, body: Login, db: Db, response: Response, visit: VisitOf, request: Request, svc: Svc) -> Me:
    email = body.email.lower()
    client = visit.client_ip or "unknown"
    failures = store.recent_login_failures(db, email, client, svc.settings.login_window)
    if (
        failures["by_email"] >= svc.settings.login_failures_per_email
        or failures["by_ip"] >= svc.settings.login_failures_per_client
    ):
        raise TooManyAttemptsError("too many failed logins; try again later")
    found = store.credentials(db, email)
    if not svc.passwords.verify(found["password_hash"] if found else None, body.password) or found is None:
        store.record_login_failure(db, email, client)
        raise UnauthorisedError("wrong e-mail or password")
    store.forget_login_failures(db, email)
    old = request.cookies.get(SESSION_COOKIE)
    if old and len(old) <= 100:
        store.close_session(db, old)  # a new session on every login: no session fixation
    token, csrf = store.open_session(db, found["customer_id"], svc.settings.session_lifetime)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(svc.settings.session_lifetime.total_seconds()),
        path="/",
        secure=svc.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    visit.user_id = str(found["customer_id"])
    svc.clicks.emit("login", visit)
    return Me(
        customer_id=found["customer_id"], display_name=found["display_name"], seller=found["is_seller"],
        csrf_token=csrf,
    )  # fmt: skip


@api.post("/logout", status_code=204, tags=["accounts"])
def log_out(*, request: Request, db: Db, _: Acting, svc: Svc) -> Response:
    store.close_session(db, request.cookies[SESSION_COOKIE])
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=svc.settings.cookie_secure, httponly=True, samesite="strict"
    )
    return response


@api.get("/me", response_model=Me, tags=["accounts"])
def me(*, customer: Customer) -> Me:
    return Me(
        customer_id=customer["customer_id"], display_name=customer["display_name"], seller=customer["is_seller"],
        csrf_token=customer["csrf_token"],
    )  # fmt: skip


# -------------------------------- products


@api.get("/products", response_model=ProductPage, tags=["products"])
async def products(
    *,
    request: Request,
    svc: Svc,
    category: Annotated[str | None, Query(max_length=64, pattern=r"^[\w -]+$")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
    cursor: Annotated[str | None, Query(pattern=store.CURSOR_PATTERN)] = None,
) -> ProductPage:
    """Listed products, newest first; `next_cursor` asks for the following page."""

    # The busiest page: its database work (the visitor's session, the page) is one trip to a worker
    # thread rather than one per sync dependency, which costs more here than the query.
    def read() -> tuple[Visit, list[store.Row], str | None]:
        with svc.pool.connection() as db:
            visit = visit_of(request, db)
            return visit, *store.list_products(db, category=category, text=q, limit=limit, cursor=cursor)

    visit, rows, following = await run_in_threadpool(read)
    if q:
        svc.clicks.emit("search", visit, search_term=q[:256], category=category)
    return ProductPage(items=[product_out(row) for row in rows], next_cursor=following)


@api.get("/products/{product_id}", response_model=ProductDetail, tags=["products"])
async def product(*, request: Request, product_id: RowId, svc: Svc) -> ProductDetail:
    def read() -> tuple[Visit, store.Row]:  # one trip to a worker thread, as for the list
        with svc.pool.connection() as db:
            return visit_of(request, db), store.get_product(db, product_id)

    visit, row = await run_in_threadpool(read)
    svc.clicks.emit("product_view", visit, product_id=str(product_id), category=row["category"])
    return detail_out(row)


@api.get("/products/{product_id}/reviews", response_model=Reviews, tags=["reviews"])
def reviews(*, db: Db, product_id: RowId) -> Reviews:
    store.get_product(db, product_id)
    return Reviews(reviews=[Review(**row) for row in store.product_reviews(db, product_id)])


@api.post("/products", status_code=201, response_model=Posted, tags=["selling"])
def post_product(*, body: ProductIn, db: Db, customer: Seller, svc: Svc) -> Posted:
    """A seller posts a product; each image then goes straight to S3 with its presigned POST."""
    if body.images and svc.images is None:
        raise store.UnprocessableError("image uploads are not configured here")
    product_id, keys = store.create_product(
        db,
        seller_id=customer["customer_id"],
        name=body.name,
        description=body.description,
        category=body.category,
        price=Decimal(body.price),
        currency=body.currency,
        stock=body.stock,
        image_types=list(body.images),
    )
    uploads = [Upload(**svc.images.presign(key, kind)) for key, kind in keys] if svc.images else []
    return Posted(product=detail_out(store.get_product(db, product_id, listed_only=False)), uploads=uploads)


@api.patch("/products/{product_id}", response_model=ProductDetail, tags=["selling"])
def change_product(*, body: ProductChange, db: Db, customer: Seller, product_id: RowId) -> ProductDetail:
    changes = {**body.model_dump(), "price": Decimal(body.price) if body.price else None}
    row = store.update_product(db, seller_id=customer["customer_id"], product_id=product_id, changes=changes)
    return detail_out(row)


@api.get("/seller/products", response_model=ProductPage, tags=["selling"])
def my_products(*, db: Db, customer: Customer) -> ProductPage:
    if not customer["is_seller"]:
        raise store.ForbiddenError("only sellers have products")
    rows = store.seller_products(db, customer["customer_id"])
    return ProductPage(items=[product_out(row) for row in rows], next_cursor=None)


# -------------------------------- cart, orders, payments


@api.get("/cart", response_model=Cart, tags=["orders"])
def get_cart(*, db: Db, customer: Customer) -> Cart:
    return cart_out(db, customer["customer_id"])


@api.put("/cart/{product_id}", response_model=Cart, tags=["orders"])
def put_cart(*, body: Quantity, db: Db, customer: Acting, visit: VisitOf, product_id: RowId, svc: Svc) -> Cart:
    row = store.put_in_cart(db, customer["customer_id"], product_id, body.quantity)
    svc.clicks.emit("add_to_cart", visit, product_id=str(product_id), category=row["category"],
                price=float(row["price"]), quantity=body.quantity)  # fmt: skip
    return cart_out(db, customer["customer_id"])


@api.delete("/cart/{product_id}", response_model=Cart, tags=["orders"])
def delete_cart(*, db: Db, customer: Acting, visit: VisitOf, product_id: RowId, svc: Svc) -> Cart:
    removed = store.remove_from_cart(db, customer["customer_id"], product_id)
    if removed:
        svc.clicks.emit("remove_from_cart", visit, product_id=str(product_id), category=removed["category"],
                    price=float(removed["price"]), quantity=removed["quantity"])  # fmt: skip
    return cart_out(db, customer["customer_id"])


@api.post(
    "/orders",
    status_code=201,
    response_model=Order,
    responses={200: {"model": Order, "description": "The same Idempotency-Key again: the order it placed"}},
    tags=["orders"],
)
def place_order(
    *, db: Db, customer: Acting, visit: VisitOf, response: Response, idempotency_key: IDEMPOTENCY_KEY, svc: Svc
) -> Order:
    """The cart becomes an order and its stock is reserved; the same Idempotency-Key answers the same order."""
    placed = store.place_order(db, customer["customer_id"], idempotency_key)
    if placed.replayed:
        response.status_code = 200
    else:
        svc.clicks.emit("checkout", visit, price=float(placed.order["total"]))
    return Order(**placed.order)


@api.get("/orders", response_model=Orders, tags=["orders"])
def orders(*, db: Db, customer: Customer) -> Orders:
    return Orders(orders=[Order(**row) for row in store.list_orders(db, customer["customer_id"])])


@api.get("/orders/{order_id}", response_model=Order, tags=["orders"])
def order(*, db: Db, customer: Customer, order_id: uuid.UUID) -> Order:
    return Order(**store.get_order(db, customer["customer_id"], order_id))


@api.post("/orders/{order_id}/cancel", response_model=Order, tags=["orders"])
def cancel(*, db: Db, customer: Acting, order_id: uuid.UUID) -> Order:
    return Order(**store.cancel_order(db, customer["customer_id"], order_id))


@api.post(
    "/orders/{order_id}/payment",
    response_model=Payment,
    status_code=201,
    responses={402: {"model": Payment, "description": "Declined"}},
    tags=["orders"],
)
def pay(
    *,
    body: CardIn,
    db: Db,
    customer: Acting,
    visit: VisitOf,
    order_id: uuid.UUID,
    idempotency_key: IDEMPOTENCY_KEY,
    svc: Svc,
) -> JSONResponse:
    """Pay an order through the payment provider: 201 authorised, 402 declined. A replay answers the same."""
    paid = store.pay_order(
        db,
        svc.payments,
        customer_id=customer["customer_id"],
        order_id=order_id,
        idempotency_key=idempotency_key,
        card=Card(body.card_number, body.expiry_month, body.expiry_year, body.cvc),
    )
    answer = Payment(**{k: paid.payment[k] for k in ("outcome", "decline_reason", "amount", "currency",
                                                     "card_last4")}, order=Order(**paid.order))  # fmt: skip
    authorised = answer.outcome == "authorised"
    if authorised and not paid.replayed:
        for line in paid.order["lines"]:
            svc.clicks.emit("purchase", visit, product_id=str(line["product_id"]), category=line["category"],
                        price=float(line["unit_price"]), quantity=line["quantity"])  # fmt: skip
    return JSONResponse(answer.model_dump(mode="json"), 201 if authorised else 402)


@api.post("/purchases/{purchase_id}/review", status_code=201, response_model=Review, tags=["reviews"])
def review(*, body: ReviewIn, db: Db, customer: Acting, purchase_id: RowId) -> Review:
    row = store.write_review(
        db, customer_id=customer["customer_id"], purchase_id=purchase_id, rating=body.rating, body=body.body
    )
    return Review(**row, display_name=customer["display_name"])


async def shop_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, store.ShopError)
    headers = {"Retry-After": "900"} if error.status == 429 else None
    return JSONResponse({"error": error.code, "message": error.message}, error.status, headers=headers)


async def data_error(_: Request, error: Exception) -> JSONResponse:
    # Text PostgreSQL cannot hold (a NUL character): the client's input, not the shop's fault.
    return JSONResponse({"error": "unprocessable", "message": "text with characters the shop cannot store"}, 422)


def create_app(
    *,
    pool: ConnectionPool[psycopg.Connection[Any]],
    settings: Settings,
    passwords: Passwords,
    payments: PaymentProvider,
    clicks: Clicks,
    images: ImageUploads | None = None,
) -> FastAPI:
    app = FastAPI(title="shoplake shop API", version="1.0.0", description=__doc__, docs_url=None, redoc_url=None)
    app.state.services = Services(pool, settings, passwords, payments, clicks, images)
    app.add_exception_handler(store.ShopError, shop_error)
    app.add_exception_handler(psycopg.DataError, data_error)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """Answers while the process serves; the load balancer and the container's health check ask here."""
        return Health()

    app.include_router(api)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ClickstreamMiddleware, clicks=clicks, settings=settings)
    return app
