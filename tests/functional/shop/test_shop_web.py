"""The web tier on loopback in front of the app tier: pages, forwarded API calls, images, limits, headers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local_stack.shop import LocalShop, running_shop
from shop.app.passwords import fast_passwords
from tests.functional.shop.shopping import PASSWORD, Recorder, follow_link, unique_email


@pytest.fixture
def local_shop(postgres_dsn: str, shop_schema: str, recorder: Recorder) -> Iterator[LocalShop]:
    with running_shop(
        postgres_dsn, search_path=shop_schema, producer=recorder, passwords=fast_passwords(),
        image_base_url="https://images.shop.test",
    ) as shop:  # fmt: skip
        yield shop


def test_the_storefront_page_and_health_check_answer_with_security_headers(local_shop: LocalShop) -> None:
    with httpx.Client(base_url=local_shop.web_url) as web:
        page = web.get("/")
        assert page.status_code == 200 and "/static/app.js" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert web.get("/static/app.js").status_code == 200
        assert web.get("/healthz").json() == {"status": "ok"}
    with httpx.Client(base_url=local_shop.app_url) as app:
        assert app.get("/healthz").json() == {"status": "ok"}


def test_api_calls_go_through_with_their_cookies_and_the_clients_address(
    local_shop: LocalShop, recorder: Recorder
) -> None:
    email = unique_email()
    with httpx.Client(base_url=local_shop.web_url) as web:
        assert web.post("/api/signup", json={"email": email, "password": PASSWORD, "country": "DE"}).status_code == 202
        follow_link(web, local_shop.mailbox, email)
        login = web.post("/api/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200 and "shop_session" in web.cookies
        assert web.get("/api/me").json()["customer_id"] == login.json()["customer_id"]
        assert web.get("/api/products", params={"q": "anything", "limit": 5}).status_code == 200
    searched = recorder.of("search")[0]
    assert searched["search_term"] == "anything" and searched["client_ip"] == "127.0.0.1"
    assert searched["user_id"] == str(login.json()["customer_id"])


def test_the_web_tier_refuses_oversized_bodies_itself(local_shop: LocalShop) -> None:
    with httpx.Client(base_url=local_shop.web_url) as web:
        assert web.post("/api/signup", content=b"x" * 100_000).status_code == 413


def test_images_are_sent_on_to_where_they_are_published(local_shop: LocalShop) -> None:
    with httpx.Client(base_url=local_shop.web_url) as web:
        answer = web.get("/images/products/1/abc.jpeg")
        assert answer.status_code == 302
        assert answer.headers["location"] == "https://images.shop.test/products/1/abc.jpeg"
        assert web.get("/images/../etc/passwd").status_code == 404


def test_a_stuck_stream_never_slows_the_shop(postgres_dsn: str, shop_schema: str) -> None:
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from shoplake.clickstream.producer import ClickstreamProducer  # noqa: PLC0415

    class StuckKinesis:
        def __init__(self) -> None:
            self.release = threading.Event()

        def put_records(self, **call: list[object]) -> dict[str, object]:
            self.release.wait(30)  # then every record is taken, as Kinesis answers
            taken = [{"SequenceNumber": "1", "ShardId": "s"} for _ in call["Records"]]
            return {"FailedRecordCount": 0, "Records": taken}

    kinesis = StuckKinesis()
    producer = ClickstreamProducer(kinesis, "clicks", max_queue=5, linger_seconds=0)
    try:
        shop = running_shop(postgres_dsn, search_path=shop_schema, producer=producer, passwords=fast_passwords())
        with shop as local, httpx.Client(base_url=local.web_url) as web:
            started = time.monotonic()
            answers = [web.get("/api/products", params={"q": f"term{n}"}).status_code for n in range(40)]
            elapsed = time.monotonic() - started
        assert answers == [200] * 40 and elapsed < 10
        assert producer.refused > 0  # the queue filled; the events were counted and dropped, not waited for
    finally:
        kinesis.release.set()
        producer.close(timeout=5)
