"""Every error answer in the shop's shape (attack review 14): nginx's own errors, the app's routing
errors, bodies the JSON parser cannot read or would read wrongly, prices the shop refuses, and what
caches may keep."""

from __future__ import annotations

import re

import httpx
import pytest

from local_stack.nginx import TEMPLATE
from local_stack.shop import LocalShop
from tests.functional.shop.test_shop_attack_review import a_product, browser, raw_request

# Every 4xx/5xx nginx itself can answer for the shop's server block: request parsing (400, its own
# 494, 414, 501 unknown transfer coding, 505), files (403, 404, 412, 416), methods (405), bodies (408,
# 411, 413), limit_req (429), the app tier (500, 502, 503, 504) and 507 (nginx's WebDAV, not loaded).
NGINX_OWN_STATUSES = {400, 403, 404, 405, 408, 411, 412, 413, 414, 416, 429, 494, 500, 501, 502, 503, 504, 505, 507}


def test_the_web_tier_has_a_json_error_page_for_every_status_nginx_itself_answers() -> None:
    # GIVEN the web tier's configuration
    template = TEMPLATE.read_text()
    # WHEN its error_page directives are read
    covered = {int(code) for line in re.findall(r"^\s*error_page ([0-9 ]+)=", template, re.M) for code in line.split()}
    # THEN every status nginx itself can answer has one, and each page it names answers JSON
    assert covered >= NGINX_OWN_STATUSES, NGINX_OWN_STATUSES - covered
    for page in set(re.findall(r"^\s*error_page [0-9 ]+= (\S+);", template, re.M)):
        assert re.search(rf"location = {re.escape(page)} {{ return [0-9]{{3}} '{{\"error\":", template), page


@pytest.mark.server
@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        pytest.param(b"GARBAGE\r\n\r\n", 400, id="unreadable-request-line-400"),
        pytest.param(b"GET /no-such-file.js HTTP/1.1\r\nHost: shop\r\n\r\n", 404, id="no-file-404"),
        pytest.param(
            b"POST /static/app.js HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\n\r\n", 405, id="post-file-405"
        ),
        pytest.param(
            b"GET /static/app.js HTTP/1.1\r\nHost: shop\r\nIf-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
            412,
            id="precondition-412",
        ),
        pytest.param(
            b"POST /api/login HTTP/1.1\r\nHost: shop\r\nContent-Length: 70000\r\n\r\n", 413, id="body-too-large-413"
        ),
        pytest.param(
            b"GET /static/app.js HTTP/1.1\r\nHost: shop\r\nRange: bytes=99999999-\r\n\r\n", 416, id="range-416"
        ),
        pytest.param(
            b"GET /api/categories HTTP/1.1\r\nHost: shop\r\nCookie: " + b"a" * 20_000 + b"\r\n\r\n",
            400,
            id="cookie-too-large-494-as-400",
        ),
        pytest.param(b"GET /?" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: shop\r\n\r\n", 414, id="uri-too-long-414"),
        pytest.param(
            b"POST /api/login HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: gzip\r\n\r\n", 501, id="transfer-coding-501"
        ),
        pytest.param(b"GET / HTTP/3.0\r\nHost: shop\r\n\r\n", 505, id="http-version-505"),
    ],
)
def test_each_error_nginx_itself_answers_is_json_in_the_shops_shape(
    local_shop: LocalShop, request_bytes: bytes, expected: int
) -> None:
    # GIVEN the web tier WHEN a request provokes one of nginx's own errors
    status, headers, body = raw_request(local_shop.web_url, request_bytes)
    # THEN that status, in {"error", "message"} JSON, with the security headers
    assert status == expected, body[:200]
    assert headers.get("content-type", "").startswith("application/json"), body[:200]
    assert body.startswith(b'{"error":'), body[:200]
    assert headers.get("x-frame-options") == "DENY"


@pytest.mark.server
def test_the_apps_405_keeps_its_allow_header(local_shop: LocalShop) -> None:
    # GIVEN the API WHEN a route is asked with a method it does not take
    answer = httpx.delete(f"{local_shop.web_url}/api/categories", timeout=30)
    # THEN 405 in the shop's shape, saying which methods it takes
    assert answer.status_code == 405
    assert answer.json() == {"error": "method_not_allowed", "message": "method not allowed"}
    assert "GET" in answer.headers["allow"]


@pytest.mark.server
def test_a_key_twice_in_a_json_body_is_refused_naming_the_key(local_shop: LocalShop) -> None:
    # GIVEN a signed-in buyer and a product
    buyer = browser(local_shop)
    product_id = a_product(local_shop)
    # WHEN the body names `quantity` twice (the last one would silently win)
    body = b'{"quantity": 1, "quantity": 99}'
    answer = buyer.put(f"/api/cart/{product_id}", content=body, headers={"Content-Type": "application/json"})
    # THEN 422 naming it, and nothing in the cart
    assert answer.status_code == 422, answer.text
    assert ["body", "quantity"] in [detail["loc"] for detail in answer.json()["detail"]]
    assert buyer.get("/api/cart").json()["lines"] == []


@pytest.mark.server
@pytest.mark.parametrize(
    ("currency", "price", "refused"),
    [("USD", "0", True), ("USD", "0.00", True), ("KRW", "1500.50", True), ("KRW", "1500", False)],
)
def test_a_price_of_zero_or_a_fraction_of_a_won_is_refused_naming_the_price(
    local_shop: LocalShop, currency: str, price: str, refused: bool
) -> None:
    # GIVEN a seller
    seller = browser(local_shop, seller=True)
    # WHEN they list a product at that price
    product = {"name": "Scarf", "category": "tops", "price": price, "currency": currency, "stock": 1}
    answer = seller.post("/api/products", json=product)
    # THEN a zero price, and a KRW price with a fractional part (the won has no minor unit), are a
    # 422 naming `price`; a whole won price is listed
    if refused:
        assert answer.status_code == 422, answer.text
        assert ["body", "price"] in [detail["loc"] for detail in answer.json()["detail"]]
    else:
        assert answer.status_code == 201, answer.text


@pytest.mark.server
def test_a_price_change_to_zero_is_refused(local_shop: LocalShop) -> None:
    seller = browser(local_shop, seller=True)
    posted = seller.post("/api/products", json={"name": "Cap", "category": "tops", "price": "5.00", "stock": 1})
    answer = seller.patch(f"/api/products/{posted.json()['product']['product_id']}", json={"price": "0.00"})
    assert answer.status_code == 422, answer.text
    assert ["body", "price"] in [detail["loc"] for detail in answer.json()["detail"]]


@pytest.mark.server
@pytest.mark.parametrize("path", ["/api/categories", "/api/products", "/api/no-such-route"])
def test_every_api_answer_is_no_store_public_ones_too(local_shop: LocalShop, path: str) -> None:
    # GIVEN the API WHEN anything under /api/ is asked, signed in or not, found or not
    answer = httpx.get(f"{local_shop.web_url}{path}", timeout=30)
    # THEN no cache may keep it (docs/shop.md: every API answer is no-store)
    assert answer.headers.get("cache-control") == "no-store", dict(answer.headers)
