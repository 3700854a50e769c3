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
    # Failed logins (shop.app.db.accounts, docs/shop.md "Logging in"). From one address to one e-mail:
    # this many free, then each next attempt waits a delay that starts at `login_delay_first` and
    # doubles with each failure, up to `login_delay_max` (OWASP's exponential lockout). To one e-mail
    # from addresses it never logged in from: this many per window. From one address to any e-mail:
    # this many per window. Past a limit: 429 with Retry-After.
    login_failures_before_delay: int = 5
    login_delay_first: timedelta = timedelta(seconds=1)
    login_delay_max: timedelta = timedelta(minutes=15)
    login_window: timedelta = timedelta(minutes=15)
    login_failures_per_email: int = 20
    login_failures_per_client: int = 50
    # Sign-ups (shop.app.db.signups, docs/shop.md "Signing up"): a sign-up's confirmation link lasts
    # `signup_lifetime`; one client address may sign up `signups_per_client` times per `signup_window`
    # (429 with Retry-After past it). The link is `public_url` + "/#confirm=<token>", sent from
    # `mail_from` (SES; none: mail is kept in memory, for local runs).
    signup_lifetime: timedelta = timedelta(hours=24)
    signups_per_client: int = 4
    signup_window: timedelta = timedelta(hours=1)
    public_url: str = "http://127.0.0.1"
    mail_from: str | None = None
    # Orders (shop.app.db.orders, docs/shop.md "Orders"): how many unpaid orders one customer may have,
    # how many units of one product their unpaid orders may hold, and how long an unpaid order holds
    # its stock before housekeeping cancels it.
    pending_orders_max: int = 3
    reserved_units_per_product_max: int = 10
    unpaid_hold: timedelta = timedelta(minutes=30)
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
        """The settings `environ` (os.environ if None) overrides; ValueError for a number that is not one."""
        env = os.environ if environ is None else environ
        default = cls()

        def number(name: str, value: int) -> int:
            return int(env.get(name, str(value)))

        def seconds(name: str, value: timedelta) -> timedelta:
            return timedelta(seconds=int(env.get(name, str(int(value.total_seconds())))))

        return cls(
            cookie_secure=env.get("SHOP_COOKIE_SECURE", "true").lower() != "false",
            forwarded_hops=number("SHOP_FORWARDED_HOPS", 3),
            image_bucket=env.get("SHOP_IMAGE_BUCKET") or None,
            login_failures_before_delay=number("SHOP_LOGIN_FAILURES_BEFORE_DELAY", default.login_failures_before_delay),
            login_delay_first=seconds("SHOP_LOGIN_DELAY_FIRST_SECONDS", default.login_delay_first),
            login_delay_max=seconds("SHOP_LOGIN_DELAY_MAX_SECONDS", default.login_delay_max),
            login_window=seconds("SHOP_LOGIN_WINDOW_SECONDS", default.login_window),
            login_failures_per_email=number("SHOP_LOGIN_FAILURES_PER_EMAIL", default.login_failures_per_email),
            login_failures_per_client=number("SHOP_LOGIN_FAILURES_PER_CLIENT", default.login_failures_per_client),
            pending_orders_max=number("SHOP_PENDING_ORDERS_MAX", default.pending_orders_max),
            reserved_units_per_product_max=number(
                "SHOP_RESERVED_UNITS_PER_PRODUCT_MAX", default.reserved_units_per_product_max
            ),
            unpaid_hold=seconds("SHOP_UNPAID_HOLD_SECONDS", default.unpaid_hold),
            signup_lifetime=seconds("SHOP_SIGNUP_LIFETIME_SECONDS", default.signup_lifetime),
            signups_per_client=number("SHOP_SIGNUPS_PER_CLIENT", default.signups_per_client),
            signup_window=seconds("SHOP_SIGNUP_WINDOW_SECONDS", default.signup_window),
            public_url=env.get("SHOP_PUBLIC_URL", default.public_url).rstrip("/"),
            mail_from=env.get("SHOP_MAIL_FROM") or None,
        )
