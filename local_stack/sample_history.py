"""A realistic shop history, for the demo and the ETL's scale benchmark.

`python -m local_stack.sample_history --dsn ...` writes one into a database.

Customers mostly in North America and growing in the Americas and Europe, a catalogue of
clothes in the shop's categories (some spelt as sellers spell them), order lines over the
days before a business day and on it, shopping in the evening of each customer's own time
zone, most of them paid, some pending, cancelled or refunded, and reviews written days after
the purchase. A few staff test accounts shop too, as they do. Deterministic for a seed.
Written with COPY, so a million order lines take seconds, not minutes.
"""

from __future__ import annotations

import argparse
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shoplake import business
from shoplake.business import OrderStatus

# country: (share of customers, regions, hours from UTC for the shopping evening)
COUNTRIES: dict[str, tuple[float, tuple[str, ...], int]] = {
    "US": (0.46, ("California", "Texas", "New York", "Ohio", "Florida"), -6),
    "CA": (0.14, ("Ontario", "Quebec", "British Columbia"), -5),
    "MX": (0.08, ("Ciudad de México", "Jalisco"), -6),
    "BR": (0.07, ("São Paulo", "Rio de Janeiro"), -3),
    "GB": (0.08, ("England", "Scotland"), 0),
    "DE": (0.06, ("Bayern", "Berlin"), 1),
    "FR": (0.06, ("Île-de-France", "Provence"), 1),
    "KR": (0.05, ("서울", "부산"), 9),
}
# How sellers type some of `business.CATEGORIES` besides the category itself; the ETL's clean step
# standardises them. A category without other spellings is typed as it is.
SELLER_SPELLINGS = {
    "tops": ("T-Shirts", "Shirts", "blouses"),
    "bottoms": ("Jeans", "pants"),
    "dresses": ("Dress",),
    "outerwear": ("Jackets", "coats"),
    "shoes": ("Sneakers",),
    "accessories": ("Accessory",),
}
# Price range per category, in USD; a category without one sells at DEFAULT_PRICES.
DEFAULT_PRICES = (20, 120)
PRICES = {
    "tops": (15, 60),
    "bottoms": (30, 90),
    "dresses": (40, 150),
    "outerwear": (60, 300),
    "shoes": (40, 180),
    "bags": (25, 200),
    "accessories": (8, 50),
}
# Local hour of the day -> how busy: quiet at night, a lunch bump, the evening peak.
HOURLY = (1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 5, 6, 7, 6, 5, 5, 6, 8, 10, 12, 12, 10, 6, 3)
STATUSES: tuple[tuple[str, float], ...] = (
    (OrderStatus.DELIVERED.value, 0.45), (OrderStatus.SHIPPED.value, 0.22), (OrderStatus.PAID.value, 0.18),
    (OrderStatus.PENDING.value, 0.08), (OrderStatus.CANCELLED.value, 0.05), (OrderStatus.REFUNDED.value, 0.02),
)  # fmt: skip
REVIEW_TEXT = {
    5: ("Perfect fit, love it", "Great quality for the price", "Exactly as pictured"),
    4: ("Nice, runs a little small", "Good, shipping was slow"),
    3: ("Okay, colour is duller than the photo", "Average quality"),
    2: ("Shrank after one wash", "Seams came loose"),
    1: ("Arrived torn", "Nothing like the photo, returned it"),
}


@dataclass(frozen=True)
class HistorySize:
    customers: int = 2_000
    products: int = 300
    # Order lines ordered on the business day itself, and per day on each day before it.
    purchases_on_day: int = 3_000
    purchases_per_earlier_day: int = 600
    earlier_days: int = 14
    # Share of sold lines reviewed, a few days later.
    review_share: float = 0.15
    test_accounts: float = 0.01


def business_day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=business.TIME_ZONE).astimezone(UTC)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]


def _moment_in(rng: random.Random, day_start: datetime, utc_offset: int) -> datetime:
    """A time within the 24 hours from day_start, busiest in the customer's own evening."""
    weights = [HOURLY[(h + day_start.hour + utc_offset) % 24] for h in range(24)]
    hour = rng.choices(range(24), weights)[0]
    return day_start + timedelta(hours=hour, seconds=rng.randrange(3600))


def _copy(connection: Any, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_history(connection: Any, day: date, size: HistorySize | None = None, seed: int = 7) -> dict[str, int]:
    """Fill an empty, migrated shop schema with history up to the end of the business day `day`."""
    size = size or HistorySize()
    rng = random.Random(seed)  # noqa: S311 - synthetic history, not secrets
    first_day = business_day_start(day - timedelta(days=size.earlier_days))
    end = business_day_start(day + timedelta(days=1))
    countries = tuple((c, share) for c, (share, _, _) in COUNTRIES.items())

    def customers() -> Iterator[tuple[Any, ...]]:
        for _ in range(size.customers):
            country = _weighted(rng, countries)
            signed_up = first_day - timedelta(days=rng.randrange(700))
            yield (
                rng.randint(1955, 2009) if rng.random() > 0.05 else None,
                _weighted(rng, (("female", 0.55), ("male", 0.38), ("other", 0.02), ("undisclosed", 0.05))),
                country,
                rng.choice(COUNTRIES[country][1]),
                rng.random() < 0.05,
                rng.random() < size.test_accounts,
                signed_up,
                signed_up,
            )

    columns = ("birth_year", "gender", "country", "region", "is_seller", "is_test_account", "signed_up_at")
    _copy(connection, "customer", (*columns, "updated_at"), customers())
    people = connection.execute("SELECT customer_id, country FROM customer ORDER BY customer_id").fetchall()
    sellers = [c for c, _ in people[: max(1, len(people) // 20)]]

    catalogue = []
    for number in range(size.products):
        category = rng.choice(business.CATEGORIES)
        low, high = PRICES.get(category, DEFAULT_PRICES)
        created = first_day - timedelta(days=rng.randrange(300))
        catalogue.append(
            (rng.choice(sellers), f"{category.title()} no. {number + 1}",
             rng.choice((category, *SELLER_SPELLINGS.get(category, ()))),
             round(rng.uniform(low, high)) - 0.01, 100, created, created)
        )  # fmt: skip
    _copy(connection, "product", ("seller_id", "name", "category", "price", "stock", "created_at", "updated_at"),
          iter(catalogue))  # fmt: skip
    listed = connection.execute("SELECT product_id, price FROM product ORDER BY product_id").fetchall()
    # A few products sell most; cumulative weights once, so each pick is a bisection, not a pass over the catalogue.
    popularity = list(itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(listed))))

    lines: list[tuple[Any, ...]] = []
    for offset in range(size.earlier_days, -1, -1):
        day_start = business_day_start(day - timedelta(days=offset))
        count = size.purchases_on_day if offset == 0 else size.purchases_per_earlier_day
        while count > 0:
            customer, country = people[rng.randrange(len(people))]
            ordered = _moment_in(rng, day_start, COUNTRIES[country][2])
            order_id, status = uuid.UUID(int=rng.getrandbits(128), version=4), _weighted(rng, STATUSES)
            paid = ordered + timedelta(minutes=rng.randint(1, 20)) if status != OrderStatus.PENDING else None
            if status == OrderStatus.CANCELLED and rng.random() < 0.5:
                paid = None
            changed = min(paid or ordered, end - timedelta(seconds=1))
            basket = rng.choices(listed, cum_weights=popularity, k=1 if rng.random() < 0.7 else rng.randint(2, 3))
            for product_id, price in basket:
                lines.append((order_id, customer, product_id, rng.choice((1, 1, 1, 2)), price, status, ordered, paid,
                              max(changed, ordered)))  # fmt: skip
                count -= 1
    # One line per product in an order: the schema's own rule.
    unique = {(line[0], line[2]): line for line in lines}
    purchase_columns = ("order_id", "customer_id", "product_id", "quantity", "unit_price", "status")
    _copy(connection, "purchase", (*purchase_columns, "ordered_at", "paid_at", "updated_at"), iter(unique.values()))

    sold = connection.execute(
        "SELECT purchase_id, paid_at FROM purchase WHERE status = ANY(%s) AND paid_at < %s",
        ([status.value for status in business.SOLD_STATUSES], end - timedelta(days=1)),
    ).fetchall()

    def reviews() -> Iterator[tuple[Any, ...]]:
        for purchase_id, paid in sold:
            if rng.random() >= size.review_share:
                continue
            written = min(paid + timedelta(days=rng.randint(2, 10), minutes=rng.randrange(1440)), end)
            written -= timedelta(seconds=1) if written == end else timedelta()
            rating = rng.choices((5, 4, 3, 2, 1), (45, 28, 12, 8, 7))[0]
            yield purchase_id, rating, rng.choice(REVIEW_TEXT[rating]), written, written

    _copy(connection, "review", ("purchase_id", "rating", "body", "created_at", "updated_at"), reviews())
    counts = {}
    for table in ("customer", "product", "purchase", "review"):
        counts[table] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - our names
    return counts


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a thin command over seed_history
    import psycopg  # noqa: PLC0415

    from shop.migrate import apply_migrations  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True, help="an empty database or schema (search_path) to fill")
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="the business day, YYYY-MM-DD")
    parser.add_argument("--purchases", type=int, default=HistorySize.purchases_on_day, help="order lines on the day")
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn, autocommit=True) as connection:
        apply_migrations(connection)
        print(seed_history(connection, args.day, HistorySize(purchases_on_day=args.purchases)))  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
