"""The routes' dependencies, each named for what a route receives (FastAPI `Annotated` aliases).

- `ServicesDep`: the process's services (pool, settings, passwords, payments, clicks, images);
- `ConnectionDep`: a database connection from the pool, for this request;
- `VisitDep`: the clickstream's view of this request, with the customer if a session is live;
- `CurrentCustomer`: the signed-in customer (401 without a live session);
- `ActingCustomer`: the signed-in customer on a request that changes something (403 without the
  session's CSRF token in `X-CSRF-Token`);
- `SellerCustomer`: an acting customer who sells (403 otherwise);
- `IdempotencyKey`, `RowId`: the `Idempotency-Key` header and a row id in a path, as they are checked.

Dependencies that only compute are async: FastAPI runs sync ones in a worker thread each, which
costs more than they do. Those that wait on the database stay sync, off the event loop.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Header, Path, Request
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from shop.app.clicks import Clicks, Visit
from shop.app.db import accounts
from shop.app.db.accounts import SessionCustomer
from shop.app.errors import ForbiddenError, UnauthorisedError
from shop.app.images import ImageUploads
from shop.app.mail import Mailer
from shop.app.passwords import Passwords
from shop.app.payments import PaymentProvider
from shop.app.settings import Settings

SESSION_COOKIE = "shop_session"
TOKEN_MAX = 100  # longer cookie or header values are no token this shop gave


@dataclass(frozen=True)
class Services:
    """What the routes use besides the request, built once per process (shop.app.main)."""

    pool: ConnectionPool[psycopg.Connection[Any]]
    settings: Settings
    passwords: Passwords
    payments: PaymentProvider
    clicks: Clicks
    images: ImageUploads | None
    mailer: Mailer


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def connection(svc: ServicesDep) -> Iterator[psycopg.Connection[Any]]:
    with svc.pool.connection() as conn:
        yield conn


ConnectionDep = Annotated[psycopg.Connection[Any], Depends(connection)]


def visit_of(request: Request, db: psycopg.Connection[Any]) -> Visit:
    """This request's Visit; on a logged-in visitor's request, with their id (one lookup by primary key).

    The customer it finds is kept on the request, so that `signed_in` does not look again.
    """
    visit = getattr(request.state, "visit", None)
    if not isinstance(visit, Visit):
        visit = Visit("anonymous-visit-0000", request.url.path, None, "", None)
    token = request.cookies.get(SESSION_COOKIE)
    customer = accounts.session_customer(db, token) if token and len(token) <= TOKEN_MAX else None
    request.state.customer = customer
    if customer is not None:
        visit.user_id = str(customer.customer_id)
    return visit


def _visit(request: Request, db: ConnectionDep) -> Visit:
    return visit_of(request, db)


VisitDep = Annotated[Visit, Depends(_visit)]


async def visit_and_read[T](
    request: Request, svc: Services, read: Callable[[psycopg.Connection[Any]], T]
) -> tuple[Visit, T]:
    """The visit and what `read` reads, in one trip to a worker thread and one pooled connection.

    For the busiest pages (the product list and page), where a trip per sync dependency costs more
    than the query.
    """

    def both() -> tuple[Visit, T]:
        with svc.pool.connection() as db:
            return visit_of(request, db), read(db)

    return await run_in_threadpool(both)


async def signed_in(request: Request, _: VisitDep) -> SessionCustomer:
    customer: SessionCustomer | None = request.state.customer
    if customer is None:
        raise UnauthorisedError("log in first")
    return customer


CurrentCustomer = Annotated[SessionCustomer, Depends(signed_in)]
CsrfToken = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=TOKEN_MAX)]


async def acting(customer: CurrentCustomer, csrf: CsrfToken = None) -> SessionCustomer:
    """The signed-in customer, for a request that changes something: the CSRF token must match."""
    if not csrf or not hmac.compare_digest(csrf.encode(), customer.csrf_token.encode()):
        raise ForbiddenError("missing or wrong X-CSRF-Token")
    return customer


ActingCustomer = Annotated[SessionCustomer, Depends(acting)]


async def seller(customer: ActingCustomer) -> SessionCustomer:
    if not customer.is_seller:
        raise ForbiddenError("only sellers post products")
    return customer


SellerCustomer = Annotated[SessionCustomer, Depends(seller)]
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
]
RowId = Annotated[int, Path(ge=1, le=2**62)]
