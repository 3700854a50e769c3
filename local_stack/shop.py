"""The shop on this machine: both tiers served on loopback ports, over a given PostgreSQL.

Used by the browser test, the load benchmark and the demo; the containers run the same
applications (shop.app.main under uvicorn, nginx with shop/web/nginx/) behind the load balancers
instead. The web tier is Debian's nginx (local_stack.nginx) in front of the app tier. As in AWS, the
schema is migrated first as the database's owner (the DSN's user; shop.app.prestart), and the app
then serves as its own role, shop_app (trust auth here, an IAM token there), so that a grant a
migration forgot fails locally too; housekeeping, a scheduled task in AWS, runs here in a thread
(as shop_app) while the shop is open.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import psycopg
import uvicorn
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from local_stack.nginx import RateLimit, running_nginx
from shop.app.api import create_app
from shop.app.clicks import Clicks, Producer
from shop.app.db_credentials import APP_ROLE, connection_arguments
from shop.app.housekeeping import UNPAID_AFTER, keep_house_every
from shop.app.images import ImageUploads
from shop.app.mail import MailSink
from shop.app.passwords import Passwords
from shop.app.payments import LocalTestProvider
from shop.app.prestart import prepare
from shop.app.settings import Settings

LOOPBACK = "127.0.0.1"
LOCAL_SETTINGS = Settings(cookie_secure=False, forwarded_hops=1)
"""The app's settings here: plain HTTP (cookies without Secure), behind the one hop of the web tier."""


@contextmanager
def serve(asgi_app: Any, host: str = LOOPBACK, port: int = 0) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread while open; yields its base URL."""
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted connections only then (else Nagle's
    # algorithm and delayed ACKs add 40 ms to every answer written in two parts).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(asgi_app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="shop-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the shop's server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


@dataclass(frozen=True)
class LocalShop:
    app_url: str
    web_url: str
    pool: ConnectionPool[Any]
    payments: LocalTestProvider
    mailbox: MailSink
    """Every mail the shop sent (sign-up confirmation links among them), oldest first."""


def shop_pool(
    dsn: str, search_path: str | None = None, max_size: int = 10, *, user: str | None = None
) -> ConnectionPool[Any]:
    """A pool of autocommit connections to `dsn` (as `user`, else the DSN's), on `search_path`; the
    connection arguments made per connection as the app's are in AWS, without a token (trust auth)."""
    options = {"options": f"-c search_path={search_path}"} if search_path else {}
    if user:
        dsn = make_conninfo(dsn, user=user)
    arguments = connection_arguments(None, autocommit=True, **options)
    return ConnectionPool(dsn, kwargs=arguments, min_size=1, max_size=max_size, open=True)


@contextmanager
def running_shop(
    dsn: str,
    *,
    producer: Producer | None = None,
    search_path: str | None = None,
    passwords: Passwords | None = None,
    images: ImageUploads | None = None,
    image_base_url: str | None = None,
    settings: Settings | None = None,
    housekeeping_seconds: float = 60,
    unpaid_after: timedelta = UNPAID_AFTER,
    app_role: str | None = APP_ROLE,
    rate_limit: RateLimit | None = None,
) -> Iterator[LocalShop]:
    """Both tiers on loopback over `dsn` (migrated first, as its user), plain HTTP: cookies without Secure.

    The app tier and housekeeping connect as `app_role` (None: as the DSN's user). The web tier is
    nginx (`rate_limit`: its API requests per client address; by default loose, as every local
    client is 127.0.0.1); the app trusts the one hop it adds to X-Forwarded-For. While open,
    housekeeping runs every `housekeeping_seconds` (a pass at once, then on that beat). Mail goes to
    `LocalShop.mailbox`; its links lead to `web_url`.
    NginxMissingError (local_stack.nginx) says what to install when nginx is not there.
    """
    options = f"-c search_path={search_path}" if search_path else None
    with psycopg.connect(dsn, autocommit=True, options=options) as owner:
        prepare(owner)
    pool = shop_pool(dsn, search_path, user=app_role)
    stop = threading.Event()
    payments = LocalTestProvider()  # one for the app and housekeeping, as one provider in AWS
    housekeeping = threading.Thread(
        target=keep_house_every,
        args=(pool.connection, housekeeping_seconds, stop),
        kwargs={"unpaid_after": unpaid_after, "provider": payments},
        name="shop-housekeeping",
        daemon=True,
    )
    try:
        housekeeping.start()
        mailbox = MailSink()
        app = create_app(
            pool=pool,
            settings=settings or LOCAL_SETTINGS,
            passwords=passwords or Passwords(),
            payments=payments,
            clicks=Clicks(producer),
            images=images,
            mailer=mailbox,
        )
        with (
            serve(app) as app_url,
            running_nginx(app_url, image_base_url=image_base_url, limit=rate_limit) as web_url,
        ):
            # The links it mails lead to the storefront, whose address is known only now.
            services = app.state.services
            app.state.services = replace(services, settings=replace(services.settings, public_url=web_url))
            yield LocalShop(app_url, web_url, pool, payments, mailbox)
    finally:
        stop.set()
        if housekeeping.is_alive():
            housekeeping.join(10)
        pool.close()
