"""The shop holds to the business facts of shoplake.business: the migrations' CHECKs allow exactly its
order statuses, its categories are the API's and the storefront's, and its events are its event types."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shoplake.business import CATEGORIES, SOLD_STATUSES, STORED_TIME_LENGTH, EventType, OrderStatus, stored_time
from tests.functional.shop.shopping import Recorder, customer, post_product

STOREFRONT_JS = Path(__file__).resolve().parents[3] / "shop" / "web" / "static" / "app.js"


def _checks_on_status(database: Any, table: str) -> list[str]:
    found = database.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c' "
        "AND pg_get_constraintdef(oid) LIKE '%%status%%' ORDER BY conname",
        (table,),
    ).fetchall()
    return [definition for (definition,) in found]


def _quoted(definition: str) -> set[str]:
    return set(re.findall(r"'([a-z_]+)'::text", definition))


def test_the_migrations_checks_hold_the_business_order_statuses(shop_schema: str, database: Any) -> None:
    # GIVEN the migrated schema's CHECK constraints on order statuses
    purchase = _checks_on_status(database, "purchase")
    (order,) = _checks_on_status(database, "customer_order")
    (allowed,) = [d for d in purchase if "paid_at" not in d]
    (sold,) = [d for d in purchase if "paid_at" in d]
    # THEN an order line may be in exactly the business's statuses, and is paid for in exactly its sold ones
    assert _quoted(allowed) == {status.value for status in OrderStatus}
    assert _quoted(sold) == {status.value for status in SOLD_STATUSES}
    # AND a whole order is in some of them: pending, paid or cancelled
    assert _quoted(order) == {OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.CANCELLED}


def test_the_categories_are_the_business_categories_described_and_enforced(client: TestClient) -> None:
    # WHEN the storefront asks for the categories THEN it gets the business's, in their order
    assert client.get("/api/categories").json() == {"categories": list(CATEGORIES)}
    # AND the API's description offers them for a new product, and the API refuses any other
    description = client.get("/openapi.json").json()
    assert "/api/categories" in description["paths"]
    assert description["components"]["schemas"]["ProductIn"]["properties"]["category"]["enum"] == list(CATEGORIES)
    customer(client, seller=True)
    refused = client.post("/api/products", json={"name": "Cape", "category": "capes", "price": "10", "stock": 1})
    assert refused.status_code == 422


def test_the_storefront_lists_no_category_of_its_own_but_asks_the_api() -> None:
    script = STOREFRONT_JS.read_text(encoding="utf-8")
    assert [category for category in CATEGORIES if f'"{category}"' in script] == []
    assert 'api("GET", "/categories")' in script


def test_every_event_is_a_business_event_type_stamped_in_the_stored_form(
    client: TestClient, recorder: Recorder
) -> None:
    # GIVEN a seller who signs up, logs in, posts, searches and views a product
    customer(client, seller=True)
    product = post_product(client)
    client.get("/api/products", params={"q": "linen"})
    client.get(f"/api/products/{product['product_id']}")
    # THEN every event's type is one of the business's, and its time is in the stored form
    assert recorder.events
    for event in recorder.events:
        assert event["event_type"] in set(EventType)
        moment = datetime.fromisoformat(event["event_time"])
        assert len(event["event_time"]) == STORED_TIME_LENGTH and stored_time(moment) == event["event_time"]
