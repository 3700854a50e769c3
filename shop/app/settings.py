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
    # How many proxies append to X-Forwarded-For in front of the app (public ALB, web tier): the client
    # address is the one they saw. 0 trusts no header and uses the peer's address.
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
            forwarded_hops=int(env.get("SHOP_FORWARDED_HOPS", "2")),
            image_bucket=env.get("SHOP_IMAGE_BUCKET") or None,
        )
