"""The shop's HTTP API (FastAPI; its OpenAPI description at /openapi.json).

Sessions ride in a Secure, HttpOnly, SameSite=Strict cookie; every request that changes
something on a session must also carry the session's CSRF token in `X-CSRF-Token`. Orders
and payments take an `Idempotency-Key`: the same key is the same order, the same payment.
Every request is recorded in the clickstream (ClickstreamMiddleware), never waiting for it.

Request bodies are strict JSON: each value of its field's own JSON type, with no conversion. An
integer is written as one (`2`; not `2.0`, which JSON Schema 2020-12 also calls an integer, nor
`"2"` or `true`), a flag as `true`/`false`, a price as decimal text (`"39.90"`); an object names
each key once. Anything else is a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from shop.app.api.deps import Services
from shop.app.api.errors import add_error_handlers
from shop.app.api.middleware import BodyLimitMiddleware, ClickstreamMiddleware, NoStoreMiddleware
from shop.app.api.routes import api_router, health_router
from shop.app.clicks import Clicks
from shop.app.images import ImageUploads
from shop.app.mail import Mailer, MailSink
from shop.app.passwords import Passwords
from shop.app.payments import PaymentProvider
from shop.app.settings import Settings


def create_app(
    *,
    pool: ConnectionPool[psycopg.Connection[Any]],
    settings: Settings,
    passwords: Passwords,
    payments: PaymentProvider,
    clicks: Clicks,
    images: ImageUploads | None = None,
    mailer: Mailer | None = None,
) -> FastAPI:
    """The API over `pool`'s database (already migrated: see shop.app.prestart), with these services.

    It only assembles: no connection is opened, nothing is scheduled. Without a `mailer`, mail is
    kept in a MailSink (`app.state.services.mailer`), as tests and local runs read it.
    """
    app = FastAPI(title="shoplake shop API", version="1.0.0", description=__doc__, docs_url=None, redoc_url=None)
    app.state.services = Services(pool, settings, passwords, payments, clicks, images, mailer or MailSink())
    add_error_handlers(app)
    app.include_router(health_router)
    app.include_router(api_router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ClickstreamMiddleware, clicks=clicks, settings=settings)
    app.add_middleware(NoStoreMiddleware)
    return app
