"""The shop's API on a real PostgreSQL: accounts, the catalogue, selling, cart → order → payment, reviews."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from shop.app.payments import LocalTestProvider
from shoplake.clickstream.transform import transform
from tests.functional.shop.shopping import (
    DECLINED_CARD,
    GOOD_CARD,
    PASSWORD,
    Recorder,
    an_order,
    confirm,
    customer,
    log_in,
    order_of,
    post_product,
    sign_up,
    unique_email,
)

# ---------------------------------------------------------------- accounts


def test_sign_up_then_log_in_sets_a_secure_httponly_strict_session_cookie(client: TestClient) -> None:
    # GIVEN a new shopper who signed up
    email = unique_email()
    sign_up(client, email)
    # WHEN they log in
    answer = client.post("/api/login", json={"email": email.upper(), "password": PASSWORD})
    # THEN the session cookie is Secure, HttpOnly and SameSite=Strict, and /api/me knows them
    assert answer.status_code == 200
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("shop_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    me = client.get("/api/me").json()
    assert me["customer_id"] == answer.json()["customer_id"] and me["seller"] is False


def test_sign_up_answers_the_same_for_a_taken_email_and_keeps_one_account(
    client: TestClient, pool: ConnectionPool[Any]
) -> None:
    email = unique_email()
    first = client.post("/api/signup", json={"email": email, "password": PASSWORD, "country": "KR"})
    confirm(client, email)
    again = client.post("/api/signup", json={"email": email, "password": "another password!", "country": "US"})
    assert (first.status_code, first.json()) == (again.status_code, again.json()) == (202, first.json())
    with pool.connection() as db:
        rows = db.execute("SELECT password_hash FROM customer_contact WHERE email = %s", (email,)).fetchall()
    assert len(rows) == 1 and rows[0][0].startswith("$argon2id$")
    log_in(client, email)  # the first password still holds


def test_login_fails_alike_for_a_wrong_password_and_an_unknown_email(client: TestClient) -> None:
    email = unique_email()
    sign_up(client, email)
    wrong = client.post("/api/login", json={"email": email, "password": "not the password"})
    unknown = client.post("/api/login", json={"email": unique_email(), "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_logout_ends_the_session(client: TestClient) -> None:
    customer(client)
    cookie = client.cookies.get("shop_session")
    assert client.post("/api/logout").status_code == 204
    assert client.get("/api/me").status_code == 401
    # The old cookie, replayed, is no session either.
    client.cookies.set("shop_session", cookie or "", domain="shop.test")
    assert client.get("/api/me").status_code == 401


def test_a_change_without_the_sessions_csrf_token_is_refused(client: TestClient) -> None:
    seller = customer(client, seller=True)
    del client.headers["X-CSRF-Token"]
    body = {"name": "Shirt", "category": "tops", "price": "10.00", "stock": 1}
    assert client.post("/api/products", json=body).status_code == 403
    assert client.post("/api/products", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/products", json=body, headers={"X-CSRF-Token": seller["csrf_token"]}).status_code == 201


# ---------------------------------------------------------------- catalogue and selling


def test_product_list_pages_by_cursor_filters_by_category_and_searches(client: TestClient) -> None:
    customer(client, seller=True)
    for number in range(7):
        post_product(client, name=f"Linen shirt {number}", category="tops")
    post_product(client, name="Denim jacket", category="outerwear", description="Raw indigo denim")
    seen, cursor = [], None
    while True:
        page = client.get("/api/products", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8 and seen[0] == "Denim jacket"  # newest first, each once
    tops = client.get("/api/products", params={"category": "tops", "limit": 100}).json()["items"]
    assert {p["category"] for p in tops} == {"tops"} and len(tops) == 7
    found = client.get("/api/products", params={"q": "indig"}).json()["items"]
    assert [p["name"] for p in found] == ["Denim jacket"]


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, ("product_newest",)),
        ({"category": "bags"}, ("product_category_newest",)),
        # PostgreSQL cannot estimate prefix searches, so it may walk the newest-first index and filter
        # (stopping at a page's worth) rather than read the search index: either way, no table scan.
        ({"text": "cashmere"}, ("product_search", "product_newest")),
    ],
)
def test_product_list_queries_are_served_by_indexes(
    pool: ConnectionPool[Any], params: dict[str, Any], index: tuple[str, ...]
) -> None:
    from shop.app.db.products import listing_query  # noqa: PLC0415

    with pool.connection() as db:
        seller = db.execute("INSERT INTO customer (country, is_seller) VALUES ('US', true) RETURNING customer_id")
        seller_id = seller.fetchone()[0]
        db.execute(
            "INSERT INTO product (seller_id, name, category, price, stock, created_at) "
            "SELECT %s, CASE WHEN n %% 4000 = 0 THEN 'Cashmere tote ' ELSE 'Linen shirt ' END || n, "
            "CASE WHEN n %% 4000 = 0 THEN 'bags' ELSE 'tops' END, 20, 5, now() - n * interval '1 minute' "
            "FROM generate_series(1, 20000) n",
            (seller_id,),
        )
        db.execute("ANALYZE product")
        # WHEN the listing's query (as list_products sends it) is explained
        built = listing_query(category=params.get("category"), text=params.get("text"), limit=24, cursor=None)
        assert built is not None
        query, query_params = built
        plan = "\n".join(line[0] for line in db.execute("EXPLAIN " + query, query_params).fetchall())
    # THEN an index serves it, never a scan of the whole table
    assert any(name in plan for name in index) and "Seq Scan on product" not in plan, plan


def test_a_seller_posts_a_product_with_presigned_image_uploads(client: TestClient) -> None:
    customer(client, seller=True)
    answer = client.post(
        "/api/products",
        json={"name": "Wool coat", "category": "outerwear", "price": "189.00", "stock": 3,
              "images": ["image/jpeg", "image/png"]},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    posted = answer.json()
    assert [u["key"].rsplit(".", 1)[1] for u in posted["uploads"]] == ["jpeg", "png"]
    upload = posted["uploads"][0]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, 5 * 2**20] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert posted["product"]["image_urls"] == [f"/images/{u['key']}" for u in posted["uploads"]]


def test_only_sellers_post_and_only_the_owner_changes_a_product(new_client: Callable[[], TestClient]) -> None:
    owner, other, buyer = new_client(), new_client(), new_client()
    customer(owner, seller=True)
    customer(other, seller=True)
    customer(buyer)
    product = post_product(owner)
    assert (
        buyer.post("/api/products", json={"name": "x", "category": "tops", "price": "1", "stock": 1}).status_code == 403
    )
    assert other.patch(f"/api/products/{product['product_id']}", json={"price": "0.01"}).status_code == 403
    changed = owner.patch(f"/api/products/{product['product_id']}", json={"price": "29.90", "stock": 9})
    assert changed.status_code == 200 and changed.json()["price"] == "29.90" and changed.json()["stock"] == 9


# ---------------------------------------------------------------- cart, order, payment


def test_order_and_pay_reserves_stock_marks_lines_paid_and_emits_the_clickstream(
    new_client: Callable[[], TestClient], pool: ConnectionPool[Any], recorder: Recorder
) -> None:
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=5)
    me = customer(buyer)
    buyer.get(f"/api/products/{product['product_id']}")
    order = order_of(buyer, product["product_id"], quantity=2)
    assert order["status"] == "pending" and order["total"] == "79.80"
    assert buyer.get(f"/api/products/{product['product_id']}").json()["stock"] == 3  # reserved at order time
    assert buyer.get("/api/cart").json()["lines"] == []
    paid = buyer.post(
        f"/api/orders/{order['order_id']}/payment", json=GOOD_CARD, headers={"Idempotency-Key": "pay-key-0001"}
    )
    assert paid.status_code == 201 and paid.json()["outcome"] == "authorised"
    assert paid.json()["order"]["status"] == "paid" and paid.json()["card_last4"] == "4242"
    with pool.connection() as db:
        lines = db.execute("SELECT status, paid_at IS NOT NULL, customer_id FROM purchase").fetchall()
    assert lines == [("paid", True, me["customer_id"])]
    kinds = [e["event_type"] for e in recorder.events]
    for kind in ("sign_up", "login", "product_view", "add_to_cart", "checkout", "purchase", "page_view"):
        assert kind in kinds
    assert recorder.of("purchase")[0]["quantity"] == 2 and recorder.of("purchase")[0]["user_id"] == str(
        me["customer_id"]
    )
    # Every event the shop emits is one the clickstream's contract accepts.
    records = [{"recordId": str(n), "data": base64.b64encode(json.dumps(e).encode()).decode()}
               for n, e in enumerate(recorder.events)]  # fmt: skip
    results = transform(records).records
    assert {r["result"] for r in results} == {"Ok"}, [r for r in results if r["result"] != "Ok"][:2]


def test_a_double_clicked_order_is_one_order(new_client: Callable[[], TestClient], pool: ConnectionPool[Any]) -> None:
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=5)
    customer(buyer)
    first = order_of(buyer, product["product_id"], key="double-click-1")
    again = buyer.post("/api/orders", headers={"Idempotency-Key": "double-click-1"})
    assert again.status_code == 200 and again.json()["order_id"] == first["order_id"]
    with pool.connection() as db:
        assert db.execute("SELECT count(*), sum(quantity) FROM purchase").fetchone() == (1, 1)
        assert db.execute("SELECT stock FROM product").fetchone() == (4,)


def test_concurrent_payments_with_one_key_pay_once(
    new_client: Callable[[], TestClient], pool: ConnectionPool[Any], payments: LocalTestProvider
) -> None:
    buyer, _, order = an_order(new_client)
    answers: list[Any] = []

    def click() -> None:
        url = f"/api/orders/{order['order_id']}/payment"
        answers.append(buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "one-click-key"}))

    clicks = [threading.Thread(target=click) for _ in range(4)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert payments.calls == 1
    with pool.connection() as db:
        assert db.execute("SELECT count(*) FROM payment").fetchone() == (1,)


def test_a_replayed_payment_answers_the_same_and_another_key_cannot_pay_again(
    new_client: Callable[[], TestClient], payments: LocalTestProvider
) -> None:
    buyer, _, order = an_order(new_client)
    url = f"/api/orders/{order['order_id']}/payment"
    first = buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "pay-once-key"})
    replay = buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "pay-once-key"})
    assert first.status_code == replay.status_code == 201 and first.json() == replay.json()
    second = buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "pay-twice-key"})
    assert second.status_code == 409
    assert payments.calls == 1


def test_a_declined_card_leaves_the_order_pending_and_another_card_pays_it(
    new_client: Callable[[], TestClient],
) -> None:
    buyer, _, order = an_order(new_client, stock=1)
    url = f"/api/orders/{order['order_id']}/payment"
    declined = buyer.post(url, json=DECLINED_CARD, headers={"Idempotency-Key": "declined-key-1"})
    assert declined.status_code == 402 and declined.json()["decline_reason"] == "card_declined"
    assert declined.json()["order"]["status"] == "pending"
    assert buyer.post(url, json=GOOD_CARD, headers={"Idempotency-Key": "good-key-0001"}).status_code == 201


def test_the_last_item_goes_to_one_buyer_only(new_client: Callable[[], TestClient]) -> None:
    seller = new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=1)
    buyers = [new_client() for _ in range(4)]
    for buyer in buyers:
        customer(buyer)
        assert buyer.put(f"/api/cart/{product['product_id']}", json={"quantity": 1}).status_code == 200
    answers: list[int] = []

    def order(buyer: TestClient) -> None:
        answers.append(buyer.post("/api/orders", headers={"Idempotency-Key": "last-one-key"}).status_code)

    threads = [threading.Thread(target=order, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409, 409, 409]
    assert seller.get(f"/api/products/{product['product_id']}").json()["stock"] == 0


def test_cancelling_an_unpaid_order_gives_the_stock_back(new_client: Callable[[], TestClient]) -> None:
    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=2)
    customer(buyer)
    order = order_of(buyer, product["product_id"], quantity=2)
    assert buyer.post(f"/api/orders/{order['order_id']}/cancel").json()["status"] == "cancelled"
    assert buyer.get(f"/api/products/{product['product_id']}").json()["stock"] == 2


# ---------------------------------------------------------------- reviews


def test_a_buyer_reviews_a_paid_purchase_once(new_client: Callable[[], TestClient]) -> None:
    buyer, product, order = an_order(new_client)
    purchase_id = order["lines"][0]["purchase_id"]
    review = {"rating": 5, "body": "Perfect fit"}
    assert buyer.post(f"/api/purchases/{purchase_id}/review", json=review).status_code == 409  # not paid yet
    buyer.post(f"/api/orders/{order['order_id']}/payment", json=GOOD_CARD, headers={"Idempotency-Key": "review-pay-1"})
    assert buyer.post(f"/api/purchases/{purchase_id}/review", json=review).status_code == 201
    assert buyer.post(f"/api/purchases/{purchase_id}/review", json=review).status_code == 409
    shown = buyer.get(f"/api/products/{product['product_id']}").json()
    assert (shown["rating"], shown["reviews"]) == (5.0, 1)
    assert buyer.get(f"/api/products/{product['product_id']}/reviews").json()["reviews"][0]["body"] == "Perfect fit"


def test_housekeeping_gives_back_the_stock_of_orders_left_unpaid(
    new_client: Callable[[], TestClient], pool: ConnectionPool[Any]
) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from shop.app.housekeeping import keep_house  # noqa: PLC0415

    seller, buyer = new_client(), new_client()
    customer(seller, seller=True)
    product = post_product(seller, stock=2)
    customer(buyer)
    order = order_of(buyer, product["product_id"], quantity=2)
    with pool.connection() as db:
        swept = keep_house(db, unpaid_after=timedelta(minutes=30))
        assert swept is not None and swept.orders == 0  # not yet
        db.execute("UPDATE customer_order SET created_at = now() - interval '31 minutes'")
        swept = keep_house(db, unpaid_after=timedelta(minutes=30))
        assert swept is not None and swept.orders == 1
    assert buyer.get(f"/api/orders/{order['order_id']}").json()["status"] == "cancelled"
    assert buyer.get(f"/api/products/{product['product_id']}").json()["stock"] == 2
