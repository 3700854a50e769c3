"""The app tier's server: `python -m shop.app.main [--host HOST] [--port PORT]` (the image's command).

Everything the API needs is built here from the environment the ECS task definition sets
(infra_core/compute.yaml): the database from DATABASE_* (as the role `shop_app`, with an RDS IAM
token per connection: shop.app.db_credentials), the clickstream stream from
SHOP_CLICKSTREAM_STREAM, the image bucket from SHOP_IMAGE_BUCKET, mail through Amazon SES from
SHOP_MAIL_FROM (without it, mail is only kept in memory and a warning says so). The schema is migrated by a task
of its own, as the database's owner, before the service is updated (shop.app.prestart); this
process never holds the owner's secret, and answers /readyz with 503 while the schema is behind.
The schema is kept by its own scheduled task (shop.app.housekeeping): this process only serves.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping

from fastapi import FastAPI


def build(env: Mapping[str, str]) -> FastAPI:
    """The API over the database and AWS services `env` names (the pool opens; nothing is queried yet)."""
    import boto3  # noqa: PLC0415 - only the running service talks to AWS

    from shop.app.api import create_app  # noqa: PLC0415
    from shop.app.clicks import Clicks  # noqa: PLC0415
    from shop.app.db_credentials import app_pool  # noqa: PLC0415
    from shop.app.images import ImageUploads  # noqa: PLC0415
    from shop.app.mail import Mailer, MailSink, SesMailer  # noqa: PLC0415
    from shop.app.passwords import Passwords  # noqa: PLC0415
    from shop.app.payments import configured_provider  # noqa: PLC0415
    from shop.app.settings import Settings  # noqa: PLC0415
    from shoplake.clickstream.producer import ClickstreamProducer  # noqa: PLC0415

    settings = Settings.from_environ(env)
    pool = app_pool(env, min_size=2, max_size=16, open=True)
    stream = env.get("SHOP_CLICKSTREAM_STREAM")
    producer = ClickstreamProducer(boto3.client("kinesis"), stream) if stream else None
    images = (
        ImageUploads(boto3.client("s3"), settings.image_bucket, settings.image_max_bytes)
        if settings.image_bucket
        else None
    )
    mailer: Mailer
    if settings.mail_from:
        mailer = SesMailer(boto3.client("sesv2"), settings.mail_from)
    else:
        logging.getLogger("shop.app.main").warning("SHOP_MAIL_FROM is not set: sign-up mail is not sent")
        mailer = MailSink()
    return create_app(
        pool=pool, settings=settings, passwords=Passwords(), payments=configured_provider(), clicks=Clicks(producer),
        images=images, mailer=mailer,
    )  # fmt: skip


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m shop.app.main", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # In its container, behind the load balancer: every interface.
    command.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="address to listen on (HOST)")  # noqa: S104
    command.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="port (PORT)")
    return command


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import uvicorn  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO)
    uvicorn.run(build(os.environ), host=args.host, port=args.port, proxy_headers=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
