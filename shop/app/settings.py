"""The app tier's settings: defaults for the service, each overridable from the environment, and
where its database is (the environment the ECS task definition in infra_core/compute.yaml sets)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from psycopg.conninfo import make_conninfo


def database_dsn(env: Mapping[str, str]) -> str:
    """A libpq connection string: DATABASE_URL as it is, else one made of the DATABASE_* variables ECS
    sets from the task definition and the RDS secret, each value quoted by psycopg's
    `make_conninfo` (libpq's key=value form: any character may be in a password).

    Raises psycopg.ProgrammingError for a DATABASE_URL libpq cannot read.
    """
    if env.get("DATABASE_URL"):
        return make_conninfo(env["DATABASE_URL"])
    return make_conninfo(
        user=env.get("DATABASE_USER", "postgres"),
        password=env.get("DATABASE_PASSWORD") or None,  # none at all, rather than an empty one
        host=env.get("DATABASE_HOST", "127.0.0.1"),
        port=env.get("DATABASE_PORT", "5432"),
        dbname=env.get("DATABASE_NAME", "shop"),
        sslmode=env.get("DATABASE_SSLMODE", "prefer"),
        sslrootcert=env.get("DATABASE_SSLROOTCERT") or None,
    )


@dataclass(frozen=True)
class Settings:
    # Cookies only over HTTPS (the public load balancer terminates TLS); off only for plain-HTTP local runs.
    cookie_secure: bool = True
    session_lifetime: timedelta = timedelta(hours=12)
    # Bodies larger than this are refused before they are read (JSON only; images go straight to S3).
    max_body_bytes: int = 16 * 1024
    # Failed logins allowed per e-mail and per client address within the window, then 429.
    login_window: timedelta = timedelta(minutes=15)
    login_failures_per_email: int = 5
    login_failures_per_client: int = 50
    # How many trusted proxies appended to X-Forwarded-For before the app: the client's address is the
    # one the first of them saw. In AWS three (the public load balancer, the web tier, the internal load
    # balancer); locally one (the web tier). 0 trusts no header and takes the peer's address.
    forwarded_hops: int = 0
    image_bucket: str | None = None
    image_max_bytes: int = 5 * 2**20
    image_content_types: tuple[str, ...] = field(default=("image/jpeg", "image/png", "image/webp"))
    page_size_max: int = 100

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            cookie_secure=env.get("SHOP_COOKIE_SECURE", "true").lower() != "false",
            forwarded_hops=int(env.get("SHOP_FORWARDED_HOPS", "3")),
            image_bucket=env.get("SHOP_IMAGE_BUCKET") or None,
        )
