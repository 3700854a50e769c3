"""The app tier's process: `python -m shop.app.main` (the container's command).

Everything the API needs is built here from the environment the ECS task definition sets
(infra_core/compute.yaml): the database from DATABASE_*, the clickstream stream from
SHOP_CLICKSTREAM_STREAM, the image bucket from SHOP_IMAGE_BUCKET; migrations are applied first.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from shop.app import store
from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.images import ImageUploads
from shop.app.passwords import Passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from shop.migrate import apply_migrations


def database_dsn(env: Mapping[str, str]) -> str:
    """DATABASE_URL, else the DATABASE_* variables ECS sets from the task definition and the RDS secret."""
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    user, password = quote(env.get("DATABASE_USER", "postgres")), quote(env.get("DATABASE_PASSWORD", ""))
    host, port = env.get("DATABASE_HOST", "127.0.0.1"), env.get("DATABASE_PORT", "5432")
    name, sslmode = env.get("DATABASE_NAME", "shop"), env.get("DATABASE_SSLMODE", "prefer")
    dsn = f"postgresql://{user}:{password}@{host}:{port}/{name}?sslmode={sslmode}"
    if env.get("DATABASE_SSLROOTCERT"):
        dsn += f"&sslrootcert={quote(env['DATABASE_SSLROOTCERT'])}"
    return dsn


def build() -> FastAPI:
    import boto3  # noqa: PLC0415 - only the running service talks to AWS

    from shoplake.clickstream.producer import ClickstreamProducer  # noqa: PLC0415

    settings = Settings.from_environ()
    dsn = database_dsn(os.environ)
    pool: ConnectionPool[Any] = ConnectionPool(dsn, kwargs={"autocommit": True}, min_size=2, max_size=16, open=True)
    with pool.connection() as connection:
        apply_migrations(connection)
    keep_house(pool)
    stream = os.environ.get("SHOP_CLICKSTREAM_STREAM")
    producer = ClickstreamProducer(boto3.client("kinesis"), stream) if stream else None
    images = (
        ImageUploads(boto3.client("s3"), settings.image_bucket, settings.image_max_bytes)
        if settings.image_bucket
        else None
    )
    # A real provider plugs in here behind the same interface; the test provider until then.
    return create_app(
        pool=pool, settings=settings, passwords=Passwords(), payments=LocalTestProvider(), clicks=Clicks(producer),
        images=images,
    )  # fmt: skip


def keep_house(pool: ConnectionPool[Any], every_seconds: float = 300, unpaid_minutes: int = 30) -> None:
    """Every few minutes: expired sessions go, orders unpaid for half an hour give their stock back."""

    def run() -> None:
        while True:
            time.sleep(every_seconds)
            try:
                with pool.connection() as connection:
                    store.housekeeping(connection, unpaid_after=timedelta(minutes=unpaid_minutes))
            except Exception:  # the next round tries again; serving goes on
                logging.getLogger(__name__).exception("housekeeping failed")

    threading.Thread(target=run, name="shop-housekeeping", daemon=True).start()


def main() -> None:  # pragma: no cover - the container's entry
    logging.basicConfig(level=logging.INFO)
    host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104 - in its container, behind the load balancer
    uvicorn.run(build(), host=host, port=int(os.environ.get("PORT", "8080")), proxy_headers=False)


if __name__ == "__main__":  # pragma: no cover
    main()
