"""The web tier (nginx) attacked as a stranger would, over loopback, in front of a real app tier:
sessions stay each client's own, paths stay under /api/, bodies and rates are limited, the
client's address is the one the app records whatever X-Forwarded-For says, and every answer,
errors included, carries the security headers."""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx
import pytest

from local_stack.nginx import RateLimit, running_nginx
from local_stack.shop import LOCAL_SETTINGS, LocalShop, running_shop
from shop.app.passwords import fast_passwords
from tests.functional.shop.shopping import PASSWORD, Recorder, follow_link, unique_email

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def raw(url: str, method: str, path: str, headers: list[tuple[str, str]] = (), body: bytes | None = None) -> Answer:  # type: ignore[assignment]
    """One request with the path exactly as given (httpx would resolve dot segments) and headers repeated as given."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return Answer(answer.status, answer.headers, answer.read())
    finally:
        connection.close()


def has_security_headers(headers: httpx.Headers | http.client.HTTPMessage) -> bool:
    return all(headers.get(name) for name in SECURITY_HEADERS)


@pytest.fixture
def local_shop(postgres_dsn: str, shop_schema: str, recorder: Recorder) -> Iterator[LocalShop]:
    # A dozen shoppers sign up from 127.0.0.1 at once: past the per-address sign-up limit.
    settings = replace(LOCAL_SETTINGS, signups_per_client=100)
    with running_shop(
        postgres_dsn, search_path=shop_schema, producer=recorder, passwords=fast_passwords(), settings=settings
    ) as shop:  # fmt: skip
        yield shop


def signed_up(web: httpx.Client, shop: LocalShop) -> str:
    email = unique_email()
    assert web.post("/api/signup", json={"email": email, "password": PASSWORD, "country": "DE"}).status_code == 202
    follow_link(web, shop.mailbox, email)
    return email


def test_a_request_without_a_cookie_is_nobody_even_right_after_someone_logged_in(local_shop: LocalShop) -> None:
    # GIVEN a shopper logged in through the web tier
    with httpx.Client(base_url=local_shop.web_url) as alice:
        email = signed_up(alice, local_shop)
        login = alice.post("/api/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200
        # WHEN a stranger without any cookie asks who they are THEN they are nobody, with no cookie handed out
        stranger = raw(local_shop.web_url, "GET", "/api/me")
        assert stranger.status == 401
        assert "shop_session" not in (stranger.headers.get("set-cookie") or "")
        # AND the shopper is still herself
        assert alice.get("/api/me").json()["customer_id"] == login.json()["customer_id"]


def test_a_fresh_client_logging_in_gets_its_own_session_and_logs_nobody_out(local_shop: LocalShop) -> None:
    # GIVEN two shoppers, the first logged in
    with httpx.Client(base_url=local_shop.web_url) as alice, httpx.Client(base_url=local_shop.web_url) as bob:
        alice_email, bob_email = signed_up(alice, local_shop), signed_up(bob, local_shop)
        alice_id = alice.post("/api/login", json={"email": alice_email, "password": PASSWORD}).json()["customer_id"]
        # WHEN the second logs in from a fresh client, without a cookie
        bob_id = bob.post("/api/login", json={"email": bob_email, "password": PASSWORD}).json()["customer_id"]
        # THEN each has a session cookie of their own and is themselves
        assert bob.cookies["shop_session"] != alice.cookies["shop_session"] and alice_id != bob_id
        assert bob.get("/api/me").json()["customer_id"] == bob_id
        assert alice.get("/api/me").json()["customer_id"] == alice_id


@pytest.mark.parametrize(
    "path",
    ["/api/../openapi.json", "/api/%2e%2e/openapi.json", "/api/%2e%2e/healthz", "/api/%2E./healthz",
     "/api/products/..%2f..%2fhealthz", "/api/x/../../docs", "/api/..", "/api/.%2e/openapi.json"],
)  # fmt: skip
def test_a_path_that_climbs_out_of_api_is_refused(local_shop: LocalShop, recorder: Recorder, path: str) -> None:
    # WHEN a path with dot segments, plain or escaped, is sent as it is
    answer = raw(local_shop.web_url, "GET", path)
    # THEN nginx refuses it itself, in the app's error shape, and the app never sees it
    assert answer.status == 400 and answer.json() == {
        "error": "bad_request", "message": "the request could not be read"
    }  # fmt: skip
    assert has_security_headers(answer.headers)
    assert not recorder.events


@pytest.mark.parametrize("path", ["/api/%00", "/api/products%00", "/api/%00/../openapi.json"])
def test_a_nul_in_the_path_is_a_400_not_a_500(local_shop: LocalShop, path: str) -> None:
    answer = raw(local_shop.web_url, "GET", path)
    assert answer.status == 400 and answer.json()["error"] == "bad_request"  # type: ignore[index]
    assert has_security_headers(answer.headers)


def test_the_app_sees_only_normalised_paths_under_api(local_shop: LocalShop, recorder: Recorder) -> None:
    # GIVEN paths that decode to something else: a slash, a question mark, a doubled slash
    for path in ("/api/products%2f1", "/api/products%3Fq=x", "/api//products"):
        # WHEN sent THEN the app answers them as what they decode to, under /api/, never a 500
        assert raw(local_shop.web_url, "GET", path).status in (404, 405, 422, 200)
    assert all(event["page"].startswith("/api/") for event in recorder.events)


def test_a_body_over_64_kib_is_refused_by_nginx_in_json(local_shop: LocalShop) -> None:
    answer = raw(local_shop.web_url, "POST", "/api/signup", [("Content-Type", "application/json")], b"x" * 70_000)
    assert answer.status == 413 and answer.json()["error"] == "too_large"  # type: ignore[index]
    assert has_security_headers(answer.headers)


def test_a_spoofed_x_forwarded_for_does_not_choose_the_recorded_address(
    local_shop: LocalShop, recorder: Recorder
) -> None:
    # WHEN a client says it is someone else, in one header and in two
    spoofs = [
        [("X-Forwarded-For", "203.0.113.7")],
        [("X-Forwarded-For", "203.0.113.8"), ("X-Forwarded-For", "10.1.1.1")],
    ]
    for n, headers in enumerate(spoofs):
        assert raw(local_shop.web_url, "GET", f"/api/products?q=spoof{n}", headers).status == 200
    # THEN the app records the address nginx saw, the one hop it trusts locally
    searched = recorder.of("search")
    assert [event["search_term"] for event in searched] == ["spoof0", "spoof1"]
    assert {event["client_ip"] for event in searched} == {"127.0.0.1"}


def test_every_answer_carries_the_security_headers_and_the_right_caching(local_shop: LocalShop) -> None:
    with httpx.Client(base_url=local_shop.web_url) as web:
        page, script = web.get("/"), web.get("/static/app.js")
        api, missing = web.get("/api/products"), web.get("/no-such-page")
    for answer in (page, script, api, missing):
        assert has_security_headers(answer.headers), answer.url
    # the page is always revalidated; scripts and styles are cached for an hour
    assert page.headers["cache-control"] == "no-cache"
    assert script.headers["cache-control"] == "max-age=3600" and script.headers.get("etag")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_the_storefront_is_compressed_and_api_answers_are_not(local_shop: LocalShop) -> None:
    script = raw(local_shop.web_url, "GET", "/static/app.js", [("Accept-Encoding", "gzip")])
    assert script.headers["content-encoding"] == "gzip"
    assert gzip.decompress(script.body).startswith(b"//")
    api = raw(local_shop.web_url, "GET", "/api/products?limit=100", [("Accept-Encoding", "gzip")])
    assert api.status == 200 and "content-encoding" not in api.headers


def test_images_are_not_found_when_no_image_address_is_configured(local_shop: LocalShop) -> None:
    assert raw(local_shop.web_url, "GET", "/images/products/1/abc.jpeg").status == 404


@pytest.mark.server
def test_too_many_requests_from_one_address_get_429_in_json() -> None:
    # GIVEN nginx limited to 1 API request a minute with a burst of 3, before an app that is not there
    with running_nginx("http://127.0.0.1:9", limit=RateLimit("1r/m", 3)) as web:
        # WHEN one address sends 10
        answers = [raw(web, "GET", "/api/products") for _ in range(10)]
        # THEN the first 4 go through (to a missing app: 502), the rest are refused, all in JSON with headers
        assert [a.status for a in answers] == [502] * 4 + [429] * 6
        assert answers[-1].json()["error"] == "too_many_requests"  # type: ignore[index]
        assert answers[0].json()["error"] == "unavailable"  # type: ignore[index]
        assert all(has_security_headers(a.headers) for a in answers)
        # AND the storefront itself is not limited
        assert [raw(web, "GET", "/").status for _ in range(5)] == [200] * 5


def test_many_shoppers_at_once_each_stay_themselves(local_shop: LocalShop) -> None:
    # GIVEN 12 shoppers signing up and logging in at the same time, over nginx's shared app connections
    def shop_as_one() -> tuple[int, int, int]:
        with httpx.Client(base_url=local_shop.web_url) as web:
            email = signed_up(web, local_shop)
            me = web.post("/api/login", json={"email": email, "password": PASSWORD}).json()["customer_id"]
            seen = [web.get("/api/me").json()["customer_id"] for _ in range(5)]
            stranger = raw(local_shop.web_url, "GET", "/api/me").status
            return me, len(set(seen) - {me}), stranger

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda _: shop_as_one(), range(12)))
    # THEN each saw only themselves, every cookie-less request was nobody, and no two are the same
    assert [(others, stranger) for _, others, stranger in results] == [(0, 401)] * 12
    assert len({me for me, _, _ in results}) == 12


def test_a_request_the_app_chokes_on_never_spoils_the_next_ones(local_shop: LocalShop) -> None:
    # GIVEN a body with a lone surrogate (the app once answered it with a broken 500)
    poison = b'{"email": "\\ud800@example.com", "password": "\\ud800"}'
    with ThreadPoolExecutor(4) as pool:
        # WHEN it is sent again and again among ordinary requests
        def one(n: int) -> int:
            if n % 4 == 0:
                return raw(
                    local_shop.web_url, "POST", "/api/login", [("Content-Type", "application/json")], poison
                ).status
            return raw(local_shop.web_url, "GET", "/api/products?limit=1").status

        statuses = list(pool.map(one, range(40)))
    # THEN every ordinary request is answered, whatever the poisoned ones got
    assert [status for n, status in enumerate(statuses) if n % 4] == [200] * 30
    assert all(status < 502 for status in statuses)
