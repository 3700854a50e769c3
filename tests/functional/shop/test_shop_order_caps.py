"""Stock hoarding: one customer's unpaid orders are capped, in number and in units of one product,
so that a free account cannot hold a product's stock; renewing the hold after it expires does not
get past the caps. The caps and the hold are settings (shop.app.settings, docs/shop.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.housekeeping import keep_house
from shop.app.settings import Settings
from tests.functional.shop.shopping import customer, post_product


def order(client: TestClient, product_id: int, quantity: int, key: str) -> Any:
    assert client.put(f"/api/cart/{product_id}", json={"quantity": quantity}).status_code == 200
    return client.post("/api/orders", headers={"Idempotency-Key": key})


def hoard(client: TestClient, product_id: int, rounds: int) -> int:
    """Orders 99 units (the most a cart line holds) again and again; returns how many units were reserved."""
    reserved = 0
    for n in range(rounds):
        placed = order(client, product_id, 99, f"hoard-key-{n:04}")
        if placed.status_code == 201:
            reserved += 99
        else:
            assert placed.status_code == 409 and placed.json()["error"] == "limit_reached", placed.text
            client.delete(f"/api/cart/{product_id}")
    return reserved


def test_one_account_cannot_reserve_most_of_a_products_stock(
    new_client: Callable[[], TestClient], settings: Settings
) -> None:
    # GIVEN a product with 400 units
    seller, hoarder = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=400)
    customer(hoarder)
    # WHEN one account orders 99 units four times over without paying
    reserved = hoard(hoarder, product["product_id"], 4)
    # THEN nothing past the cap is reserved, and the stock stays for others
    assert reserved == 0  # 99 units is already past the cap of one product's units
    capped = order(hoarder, product["product_id"], settings.reserved_units_per_product_max, "capped-key-0001")
    assert capped.status_code == 201
    over = order(hoarder, product["product_id"], 1, "over-key-0001")
    assert over.status_code == 409 and "reserved_units_per_product_max" in over.json()["message"]
    stock = seller.get(f"/api/products/{product['product_id']}").json()["stock"]
    assert stock == 400 - settings.reserved_units_per_product_max


def test_unpaid_orders_are_capped_in_number(new_client: Callable[[], TestClient], settings: Settings) -> None:
    # GIVEN a customer with as many unpaid orders as the cap, each of another product
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    products = [post_product(seller, name=f"Tee {n}") for n in range(settings.pending_orders_max + 1)]
    customer(buyer)
    placed = [order(buyer, p["product_id"], 1, f"order-key-{n:04}") for n, p in enumerate(products[:-1])]
    assert [answer.status_code for answer in placed] == [201] * settings.pending_orders_max
    # WHEN they order once more THEN 409 naming the cap, and nothing is reserved
    over = order(buyer, products[-1]["product_id"], 1, "order-key-over")
    assert over.status_code == 409 and "pending_orders_max" in over.json()["message"], over.text
    assert seller.get(f"/api/products/{products[-1]['product_id']}").json()["stock"] == 5
    # and once one is cancelled, they may order again
    assert buyer.post(f"/api/orders/{placed[0].json()['order_id']}/cancel").status_code == 200
    assert buyer.post("/api/orders", headers={"Idempotency-Key": "order-key-again"}).status_code == 201


def test_an_expired_hold_renewed_stays_within_the_cap(
    new_client: Callable[[], TestClient], pool: ConnectionPool[Any], settings: Settings
) -> None:
    # GIVEN a hoarder whose capped hold on a product expired before housekeeping came by
    seller, hoarder = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=400)
    customer(hoarder)
    most = settings.reserved_units_per_product_max
    assert order(hoarder, product["product_id"], most, "hold-key-0001").status_code == 201
    with pool.connection() as db:
        db.execute("UPDATE customer_order SET created_at = now() - %s", (settings.unpaid_hold + timedelta(minutes=1),))
    # WHEN they renew the hold before housekeeping ran THEN the expired order still counts
    assert order(hoarder, product["product_id"], most, "hold-key-0002").status_code == 409
    # and after housekeeping cancelled it, the renewal holds no more than the cap
    with pool.connection() as db:
        swept = keep_house(db, unpaid_after=settings.unpaid_hold)
    assert swept is not None and swept.orders == 1
    assert hoard(hoarder, product["product_id"], 3) == 0
    assert order(hoarder, product["product_id"], most, "hold-key-0003").status_code == 201
    assert seller.get(f"/api/products/{product['product_id']}").json()["stock"] == 400 - most


def test_the_caps_and_the_hold_are_read_from_the_environment() -> None:
    # GIVEN the environment a task definition sets WHEN the settings are read THEN each is as set
    env = {"SHOP_PENDING_ORDERS_MAX": "7", "SHOP_RESERVED_UNITS_PER_PRODUCT_MAX": "25",
           "SHOP_UNPAID_HOLD_SECONDS": "900", "SHOP_LOGIN_FAILURES_PER_EMAIL": "30"}  # fmt: skip
    settings = Settings.from_environ(env)
    assert (settings.pending_orders_max, settings.reserved_units_per_product_max) == (7, 25)
    assert settings.unpaid_hold == timedelta(minutes=15) and settings.login_failures_per_email == 30
    assert Settings.from_environ({}).unpaid_hold == timedelta(minutes=30)
