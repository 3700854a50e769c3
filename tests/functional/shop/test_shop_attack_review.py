"""A stranger's review of the shop (attack 14): what broke, attacked over HTTP through the web tier
(`running_shop(...).web_url`). Each test is one finding and fails until it is fixed."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from local_stack.shop import LocalShop
from tests.functional.shop.shopping import PASSWORD, follow_link, unique_email

pytestmark = pytest.mark.server


def browser(shop: LocalShop, *, seller: bool = False) -> httpx.Client:
    """A signed-in browser of its own on the storefront's address, its CSRF token set."""
    status, http = signed_up_browser(shop, seller=seller)
    assert status == 202
    return http


def signed_up_browser(shop: LocalShop, *, seller: bool = False) -> tuple[int, httpx.Client]:
    """The sign-up's status and a browser of its own: signed in, its CSRF token set, once the sign-up
    is accepted and its e-mail confirmed through the link mailed to it (not signed in otherwise)."""
    http = httpx.Client(base_url=shop.web_url, timeout=30)
    email = unique_email("seller" if seller else "buyer")
    signed_up = http.post("/api/signup", json={"email": email, "password": PASSWORD, "country": "US", "seller": seller})
    if signed_up.status_code != 202:
        return signed_up.status_code, http
    follow_link(http, shop.mailbox, email)
    me = http.post("/api/login", json={"email": email, "password": PASSWORD})
    assert me.status_code == 200, me.text
    http.headers["X-CSRF-Token"] = me.json()["csrf_token"]
    return signed_up.status_code, http


def a_product(shop: LocalShop) -> int:
    seller = browser(shop, seller=True)
    posted = seller.post(
        "/api/products", json={"name": "Linen shirt", "category": "tops", "price": "10.00", "stock": 50}
    )
    assert posted.status_code == 201, posted.text
    return int(posted.json()["product"]["product_id"])


def raw_request(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as it is on a socket of its own; the status, headers (lower-case names) and body."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# ---------------------------------------------------------------- nginx's own errors


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(
            b"GET /api/categories HTTP/1.1\r\nHost: shop\r\nCookie: " + b"a" * 20_000 + b"\r\n\r\n",
            id="cookie-too-large-400",
        ),
        pytest.param(
            b"GET /api/categories HTTP/1.1\r\nHost: shop\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n",
            id="header-too-large-400",
        ),
        pytest.param(
            b"GET /api/categories?" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: shop\r\n\r\n", id="uri-too-long-414"
        ),
        pytest.param(
            b"GET /api/categories HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: gzip\r\n\r\n", id="transfer-coding-501"
        ),
        pytest.param(b"GET /api/categories HTTP/2.0\r\nHost: shop\r\n\r\n", id="http-version-505"),
    ],
)
def test_nginx_own_errors_for_oversized_headers_and_odd_requests_answer_in_the_shops_json_shape(
    local_shop: LocalShop, request_bytes: bytes
) -> None:
    # GIVEN the web tier, whose own errors docs/shop.md says answer in the app's JSON shape
    # WHEN a stranger sends a header or cookie too large, a URL too long, an unknown transfer coding
    #   or an HTTP version nginx does not speak
    status, headers, body = raw_request(local_shop.web_url, request_bytes)
    # THEN the answer is a 4xx/5xx in {"error", "message"} JSON, not nginx's own HTML page
    # (found: 400 "Request Header Or Cookie Too Large" (nginx's 494), 414, 501 and 505 come back as
    #  text/html naming nginx: error_page covers only 400 404 405 413 429 500-504)
    assert status >= 400
    assert headers.get("content-type", "").startswith("application/json"), (
        status,
        headers.get("content-type"),
        body[:120],
    )
    assert b'"error"' in body


# ---------------------------------------------------------------- wrong JSON types


@pytest.mark.parametrize("quantity", [True, "3", 2.0], ids=["bool", "string", "float"])
def test_a_cart_quantity_of_the_wrong_json_type_is_refused_naming_the_field(
    local_shop: LocalShop, quantity: Any
) -> None:
    # GIVEN a signed-in buyer and a listed product
    buyer = browser(local_shop)
    product_id = a_product(local_shop)
    # WHEN the quantity is sent as a JSON boolean, string or float instead of an integer
    answer = buyer.put(f"/api/cart/{product_id}", json={"quantity": quantity})
    # THEN 422 naming `quantity` (docs/shop.md: wrong JSON types get FastAPI's 422 naming the field);
    # found: 200, `true` became one shirt in the cart and "3" three (pydantic's lax mode)
    assert answer.status_code == 422, answer.text
    assert ["body", "quantity"] in [detail["loc"] for detail in answer.json()["detail"]]


@pytest.mark.parametrize("seller", ["yes", "on", 1], ids=["yes", "on", "one"])
def test_a_sign_up_seller_flag_of_the_wrong_json_type_is_refused(local_shop: LocalShop, seller: Any) -> None:
    # GIVEN the storefront
    http = httpx.Client(base_url=local_shop.web_url, timeout=30)
    # WHEN a sign-up sends `seller` as text or a number rather than a JSON boolean
    answer = http.post(
        "/api/signup", json={"email": unique_email(), "password": PASSWORD, "country": "US", "seller": seller}
    )
    # THEN 422 naming `seller`; found: 202, and the account is a seller
    assert answer.status_code == 422, answer.text
    assert ["body", "seller"] in [detail["loc"] for detail in answer.json()["detail"]]


# ---------------------------------------------------------------- bodies that cannot be read


def test_deeply_nested_json_is_a_422_naming_the_body(local_shop: LocalShop) -> None:
    # GIVEN a signed-in buyer and a listed product
    buyer = browser(local_shop)
    product_id = a_product(local_shop)
    # WHEN the body is JSON nested 5000 deep (10 KB, under every size limit)
    body = b"[" * 5000 + b"]" * 5000
    answer = buyer.put(f"/api/cart/{product_id}", content=body, headers={"Content-Type": "application/json"})
    # THEN a 422 naming `body`, as for any body that is not JSON (docs/shop.md, Malformed input);
    # found: 400 {"detail": "There was an error parsing the body"} (the parser's RecursionError)
    assert answer.status_code == 422, answer.text
    assert any(detail["loc"][:1] == ["body"] for detail in answer.json()["detail"])


# ---------------------------------------------------------------- hoarding with free accounts


def test_one_client_cannot_hold_a_products_whole_stock_unpaid_with_a_handful_of_free_accounts(
    local_shop: LocalShop,
) -> None:
    # GIVEN a product with 40 in stock and the default caps (10 units of a product per customer's
    # unpaid orders), and a sign-up that costs nothing (no e-mail check, no limit per address)
    seller = browser(local_shop, seller=True)
    posted = seller.post("/api/products", json={"name": "Last drop", "category": "tops", "price": "10.00", "stock": 40})
    product_id = posted.json()["product"]["product_id"]
    # WHEN one client (one address) signs up four accounts in a second and each checks out 10
    placed = []
    for i in range(4):
        signed_up, hoarder = signed_up_browser(local_shop)
        if signed_up != 202:  # no account, no order
            placed.append(signed_up)
            continue
        assert hoarder.put(f"/api/cart/{product_id}", json={"quantity": 10}).status_code == 200
        placed.append(hoarder.post("/api/orders", headers={"Idempotency-Key": f"hoard-{i:04d}"}).status_code)
    stock = httpx.get(f"{local_shop.web_url}/api/products/{product_id}").json()["stock"]
    # THEN the client does not hold the whole stock unpaid (docs/shop.md: the caps exist so that a free
    # account cannot reserve a product's whole stock); found: [201, 201, 201, 201] and stock 0, renewable
    # every hold: the cap is per account, and accounts are free and unlimited
    assert stock > 0, placed


# ---------------------------------------------------------------- private answers and caches


@pytest.mark.parametrize("path", ["/api/me", "/api/cart", "/api/orders"])
def test_private_answers_tell_every_cache_not_to_store_them(local_shop: LocalShop, path: str) -> None:
    # GIVEN a signed-in customer (their answers carry their name, orders and the session's CSRF token)
    customer = browser(local_shop)
    # WHEN they ask for their own data through the web tier
    answer = customer.get(path)
    # THEN the answer forbids caches to keep it (Cache-Control: no-store, or at least private): it has
    # no Vary: Cookie, so a shared cache on the way (a corporate proxy, a CDN put in front later) or
    # the browser's disk cache may keep one customer's answer and the CSRF token in it; found: no
    # Cache-Control at all (nginx only promises that nginx itself caches nothing)
    assert answer.status_code == 200
    cache_control = answer.headers.get("cache-control", "")
    assert "no-store" in cache_control or "private" in cache_control, dict(answer.headers)


# ---------------------------------------------------------------- is this e-mail a customer?


def test_sign_up_then_log_in_does_not_tell_whether_an_email_was_already_a_customer(local_shop: LocalShop) -> None:
    # GIVEN a customer, whose e-mail a stranger wants to confirm
    known_email = unique_email("victim")
    stranger = httpx.Client(base_url=local_shop.web_url, timeout=30)
    assert (
        stranger.post(
            "/api/signup", json={"email": known_email, "password": "victim's own pw", "country": "US"}
        ).status_code
        == 202
    )
    follow_link(stranger, local_shop.mailbox, known_email, "victim's own pw")  # the victim confirms their e-mail
    # WHEN the stranger "signs up" with that e-mail and a password of their own, then logs in with it,
    # and does the same with an e-mail nobody has
    mine = "stranger's own password"
    answers = {}
    for name, email in (("known", known_email), ("new", unique_email("nobody"))):
        probe = httpx.Client(base_url=local_shop.web_url, timeout=30)
        signed_up = probe.post("/api/signup", json={"email": email, "password": mine, "country": "US"})
        answers[name] = (
            signed_up.status_code,
            probe.post("/api/login", json={"email": email, "password": mine}).status_code,
        )
    # THEN both answer alike (shop/app/api/routes/accounts.py: "The same answer whether or not the e-mail
    # was already known, so it cannot be probed"); found: known (202, 401), new (202, 200): the sign-up's
    # same answer hides nothing, as no e-mail is confirmed before the account can log in
    assert answers["known"] == answers["new"], answers


# ---------------------------------------------------------------- the app's own routing errors


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/no-such-route"), ("DELETE", "/api/categories"), ("FOO", "/api/categories")]
)
def test_the_apps_routing_errors_answer_in_the_shops_error_shape(local_shop: LocalShop, method: str, path: str) -> None:
    # GIVEN the storefront's API through the web tier
    http = httpx.Client(base_url=local_shop.web_url, timeout=30)
    # WHEN a stranger asks for a route the app does not have, or with a method it does not take
    answer = http.request(method, path)
    # THEN a 404/405 in the shop's error shape (shop/app/api/errors.py: every error answer is
    # {"error": <code>, "message": <text>}, as the OpenAPI description documents for 404); found:
    # Starlette's {"detail": "Not Found"} / {"detail": "Method Not Allowed"}
    assert answer.status_code in (404, 405)
    assert set(answer.json()) == {"error", "message"}, answer.text
