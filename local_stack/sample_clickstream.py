"""A day of synthetic but realistic shop traffic, for the demo, the tests and the benchmark.

Visitors arrive in a daily rhythm peaking in North American evenings; each session views
pages and products, searches, and some go on to cart, checkout and purchase. A few records
are malformed, as real traffic always has some.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shoplake import business
from shoplake.business import EventType, stored_time

AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
AGENT_WEIGHTS = [30, 12, 30, 18, 6, 4]
# country, UTC offset in hours, share of visitors
COUNTRIES = [("US", -6, 45), ("CA", -5, 12), ("MX", -6, 10), ("BR", -3, 8), ("KR", 9, 10), ("GB", 0, 7), ("DE", 1, 8)]
SEARCHES = ["linen shirt", "black dress", "rain jacket", "sneakers", "wool coat", "tote bag"]
REFERRERS = [None, None, "https://www.google.com/", "https://www.instagram.com/", "https://t.co/"]


def _hourly_weight(local_hour: int) -> float:
    # A quiet night, a lunchtime bump, and the evening peak around 20:00 local time.
    return 0.2 + math.exp(-((local_hour - 20) ** 2) / 6) + 0.4 * math.exp(-((local_hour - 12.5) ** 2) / 3)


def day_of_traffic(day: datetime, sessions: int = 400, seed: int = 11, malformed: int = 5) -> list[bytes]:
    """Clickstream events of one UTC day as the shop would send them (JSON bytes), in time order."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    events: list[tuple[datetime, bytes]] = []
    for _ in range(sessions):
        country, offset, _share = rng.choices(COUNTRIES, weights=[c[2] for c in COUNTRIES])[0]
        hours = list(range(24))
        utc_hour = rng.choices(hours, weights=[_hourly_weight((h + offset) % 24) for h in hours])[0]
        start = day.replace(hour=utc_hour, minute=rng.randrange(60), second=rng.randrange(60), tzinfo=UTC)
        session = uuid.UUID(int=rng.getrandbits(128)).hex
        user = f"u-{rng.randrange(10_000):05d}" if rng.random() < 0.4 else None
        agent = rng.choices(AGENTS, weights=AGENT_WEIGHTS)[0]
        ip = f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        visitor = {"session_id": session, "user_id": user, "user_agent": agent, "client_ip": ip, "country": country}
        clock = [start]

        def emit(
            kind: EventType, visitor: dict[str, Any] = visitor, clock: list[datetime] = clock, **fields: Any
        ) -> None:
            clock[0] += timedelta(seconds=rng.randint(5, 90))
            record = {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "event_time": stored_time(clock[0]),
                "event_type": kind.value,
                "page": fields.pop("page", "/"),
                "referrer": rng.choice(REFERRERS),
                **visitor,
                **fields,
            }
            events.append((clock[0], json.dumps({k: v for k, v in record.items() if v is not None}).encode()))

        emit(EventType.PAGE_VIEW, page="/")
        if rng.random() < 0.3:
            emit(EventType.SEARCH, page="/search", search_term=rng.choice(SEARCHES))
        for _ in range(rng.randint(1, 5)):
            product = str(rng.randrange(1, 301))  # the shop's product ids, as the demo's history numbers them
            category = rng.choice(business.CATEGORIES)
            emit(EventType.PRODUCT_VIEW, page=f"/products/{product}", product_id=product, category=category)
            if rng.random() < 0.25:
                price = round(rng.uniform(12, 180), 2)
                emit(EventType.ADD_TO_CART, page=f"/products/{product}", product_id=product, category=category,
                     price=price, quantity=rng.randint(1, 2))  # fmt: skip
                if rng.random() < 0.5:
                    emit(EventType.CHECKOUT, page="/checkout")
                    if rng.random() < 0.7:
                        emit(EventType.PURCHASE, page="/checkout/done", product_id=product, category=category,
                             price=price, quantity=1)  # fmt: skip
    events.sort(key=lambda pair: pair[0])
    records = [body for _, body in events]
    for i in range(malformed):
        position = rng.randrange(len(records))
        broken = json.loads(records[position])
        if i % 2:
            broken["event_type"] = "teleport"  # not an event the shop sends
        else:
            broken.pop("session_id", None)
        records.insert(position, json.dumps(broken).encode())
    records.insert(len(records) // 2, b'{"event_id": "cut-off')  # a record cut in half
    return records
