"""The app tier's settings: defaults for the service, each overridable from the environment by main()."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta


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
