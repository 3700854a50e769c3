"""The shop's business facts, each in one place: its time zone, categories, order statuses, clickstream
event types and the stored form of an event time.

Everything that needs one of these reads it from here: the shop's app and web tiers (their images
copy this file), the clickstream contract and transform, the nightly ETL, the analytics, the sample
generators and the benchmarks. Copies that cannot import Python (the DQDL rulesets and schedules in
`template.yaml`, the survey form's `allowed` categories, the shop's migration CHECKs) are held to
these values by tests. Only the standard library is imported, so any image or job can use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

TIME_ZONE: Final = ZoneInfo("Asia/Seoul")
"""The business time zone (IANA `Asia/Seoul`, `TIME_ZONE.key`): a business day is a calendar day there,
the nightly ETL runs at 02:00 there for the day before, and reports count days there."""

CATEGORIES: Final[tuple[str, ...]] = ("tops", "bottoms", "dresses", "outerwear", "shoes", "bags", "accessories")
"""The product categories, in the order the storefront lists them. A seller picks one of these; the
ETL maps sellers' other spellings to them (anything it cannot map is `UNKNOWN_CATEGORY`)."""

UNKNOWN_CATEGORY: Final = "unknown"
"""The category the ETL gives a product whose category it cannot map to one of `CATEGORIES`."""


class OrderStatus(StrEnum):
    """The states of an order line (`purchase.status` in the shop database)."""

    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


SOLD_STATUSES: Final[tuple[OrderStatus, ...]] = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
"""The order statuses that count as sold: paid for and not given back. Sales, revenue and a customer's
first order count only these."""


class EventType(StrEnum):
    """The clickstream's event types: what the shop's tiers send and the lake stores in `event_type`."""

    PAGE_VIEW = "page_view"
    PRODUCT_VIEW = "product_view"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    CHECKOUT = "checkout"
    PURCHASE = "purchase"
    SIGN_UP = "sign_up"
    LOGIN = "login"


STORED_TIME_LENGTH: Final = len("2026-11-24T09:05:41.123Z")
"""The length of an event time in its stored form (see `stored_time`)."""


def stored_time(moment: datetime) -> str:
    """An instant in the stored form of event times: ISO-8601 in UTC, milliseconds, `Z`.

    `moment` must be aware (any offset); sub-millisecond digits are dropped, not rounded, so the
    stored time never lies after the instant. `2026-11-24T18:05:41.123456+09:00` is stored as
    `2026-11-24T09:05:41.123Z` (RFC 3339 profile of ISO 8601, as Athena's `from_iso8601_timestamp`
    and Parquet conversion in Firehose read it). Raises ValueError for a naive `moment`, or one whose
    UTC instant lies outside datetime's years 1 to 9999 (`0001-01-01T00:00:00+09:00`).
    """
    utc = _in_zone(moment, UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def business_date(moment: datetime) -> date:
    """The business day of an aware instant: its calendar date in `TIME_ZONE`.

    Raises ValueError if `moment` is naive, or if its day in Seoul lies outside datetime's years 1 to 9999.
    """
    return _in_zone(moment, TIME_ZONE).date()


def _in_zone(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no UTC offset")
    try:
        return moment.astimezone(zone)
    except OverflowError:  # datetime's own word for a date past its range; ours is ValueError, as documented
        raise ValueError(f"{moment!r} is outside years 1 to 9999 in {zone}") from None
