"""The shop under load, on this machine, through its web tier: requests per second and p99 latency.

The app tier serves on loopback over PostgreSQL (this machine's, or an embedded one) with a
catalogue of 2,000 products, and nginx (the web tier, local_stack.nginx, as the tests and the demo
run it) in front of it; a load generator in a second process keeps a few keep-alive connections
busy for a fixed time per phase:

- list direct: `GET /api/products` straight at the app tier (a page of 24, newest first; every
  fourth request a category);
- list: the same through nginx (the two take turns, three phases each);
- checkout: through nginx, put one product in the cart, place the order, pay it (three requests).

Summary line: `shop_load ... ratio=<list through nginx ÷ list direct, requests/s>`, what the web
tier costs (higher is better, 1.0 would be free; the goal is at least 0.9).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from shoplake import business

if TYPE_CHECKING:
    from shop.app.mail import MailSink

SECONDS_PER_PHASE = float(os.environ.get("SHOP_BENCH_SECONDS", "4"))
ROUNDS = 3  # of the list, direct then through nginx
CONNECTIONS = 8
CHECKOUT_CONNECTIONS = 4
PRODUCTS = 2_000


class Connection:
    def __init__(self, url: str, cookie: str = "", csrf: str = "") -> None:
        parsed = urlparse(url)
        self.http = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
        self.headers = {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"} if cookie else {}

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> int:
        data = json.dumps(body).encode() if body is not None else None
        self.http.request(method, path, body=data, headers={**self.headers, **(headers or {})})
        answer = self.http.getresponse()
        answer.read()
        return answer.status


def _worker(kind: str, url: str, account: dict[str, Any], product_ids: list[int], until: float) -> list[float]:
    """Run one kind of request back to back until `until`; the latency of each, in seconds."""
    connection = Connection(url, account.get("cookie", ""), account.get("csrf", ""))
    latencies: list[float] = []
    number = 0
    while time.monotonic() < until:
        number += 1
        started = time.perf_counter()
        if kind == "list":
            category = business.CATEGORIES[number % len(business.CATEGORIES)]
            query = f"&category={category}" if number % 4 == 0 else ""
            status = connection.call("GET", f"/api/products?limit=24{query}")
        else:
            product = product_ids[number % len(product_ids)]
            assert connection.call("PUT", f"/api/cart/{product}", {"quantity": 1}) == 200
            key = {"Idempotency-Key": uuid.uuid4().hex}
            connection.http.request("POST", "/api/orders", headers={**connection.headers, **key})
            answer = connection.http.getresponse()
            order = json.loads(answer.read())
            assert answer.status == 201, order
            card = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}
            status = connection.call("POST", f"/api/orders/{order['order_id']}/payment", card, key)
            status = 200 if status == 201 else status
        assert status == 200, (kind, status)
        latencies.append(time.perf_counter() - started)
    return latencies


def load_generator(kind: str, url: str, accounts: list[dict[str, Any]], product_ids: list[int], results: Any) -> None:
    """The second process: `len(accounts)` connections, each in its own thread, for one phase."""
    until = time.monotonic() + SECONDS_PER_PHASE
    collected: list[list[float]] = [[] for _ in accounts]

    def run(index: int) -> None:
        collected[index] = _worker(kind, url, accounts[index], product_ids, until)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(accounts))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies = sorted(x for worker in collected for x in worker)
    results.put({"count": len(latencies), "seconds": elapsed, "latencies": latencies})


def run_phase(kind: str, url: str, accounts: list[dict[str, Any]], product_ids: list[int]) -> dict[str, Any]:
    """One phase from the second process: its request count, seconds and latencies (seconds)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=load_generator, args=(kind, url, accounts, product_ids, results))
    process.start()
    outcome: dict[str, Any] = results.get(timeout=SECONDS_PER_PHASE + 120)
    process.join(30)
    return outcome


def summary(outcomes: list[dict[str, Any]]) -> tuple[float, float]:
    """Requests (or checkouts) per second and the p99 latency in milliseconds over phases of one kind."""
    latencies = sorted(x for outcome in outcomes for x in outcome["latencies"])
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)
    return sum(o["count"] for o in outcomes) / sum(o["seconds"] for o in outcomes), p99 * 1000


class _AcceptingKinesis:
    """Kinesis that takes every record: the producer does its real work, nothing leaves the machine."""

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "s"} for _ in Records]}


def main() -> int:
    import psycopg  # noqa: PLC0415

    from local_stack.nginx import running_nginx  # noqa: PLC0415
    from local_stack.postgres import shop_postgres  # noqa: PLC0415
    from local_stack.scratch import scratch_directory  # noqa: PLC0415
    from local_stack.shop import serve, shop_pool  # noqa: PLC0415
    from shop.app.api import create_app  # noqa: PLC0415
    from shop.app.clicks import Clicks  # noqa: PLC0415
    from shop.app.mail import MailSink  # noqa: PLC0415
    from shop.app.passwords import fast_passwords  # noqa: PLC0415
    from shop.app.payments import LocalTestProvider  # noqa: PLC0415
    from shop.app.settings import Settings  # noqa: PLC0415
    from shop.migrate import apply_migrations  # noqa: PLC0415
    from shoplake.clickstream.producer import ClickstreamProducer  # noqa: PLC0415

    schema = f"bench_shop_{uuid.uuid4().hex[:8]}"
    # An embedded PostgreSQL, where this machine runs none, keeps its data in here, removed at the end.
    with (
        scratch_directory("bench-shop") as work,
        shop_postgres(work) as dsn,
        psycopg.connect(dsn, autocommit=True) as admin,
    ):
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            admin.execute(f'SET search_path TO "{schema}"')
            apply_migrations(admin)
            seller = admin.execute(
                "INSERT INTO customer (country, is_seller) VALUES ('US', true) RETURNING customer_id"
            )
            seller_id = seller.fetchone()[0]  # type: ignore[index]
            admin.execute(
                "INSERT INTO product (seller_id, name, description, category, price, stock, created_at) "
                "SELECT %s, 'Item ' || n, 'A garment', (%s::text[])[n %% %s + 1], 10 + n %% 90, 1000000, "
                "now() - n * interval '1 minute' FROM generate_series(1, %s) n",
                (seller_id, list(business.CATEGORIES), len(business.CATEGORIES), PRODUCTS),
            )
            admin.execute("ANALYZE")
            product_ids = [row[0] for row in admin.execute("SELECT product_id FROM product LIMIT 200").fetchall()]
            pool = shop_pool(dsn, schema, max_size=12)
            producer = ClickstreamProducer(_AcceptingKinesis(), "bench", linger_seconds=0.05)
            # Cheap hashing only because the benchmark signs its shoppers up; login is not measured.
            # Every bench shopper signs up from 127.0.0.1: no per-address sign-up limit in the way.
            mailbox = MailSink()
            settings = Settings(cookie_secure=False, forwarded_hops=1, signups_per_client=10_000)
            app = create_app(
                pool=pool, settings=settings, passwords=fast_passwords(),
                payments=LocalTestProvider(), clicks=Clicks(producer), mailer=mailbox,
            )  # fmt: skip
            # nginx's local rate limit is loose (every client here is 127.0.0.1): nothing is throttled.
            with serve(app) as app_url, running_nginx(app_url) as web_url:
                accounts = [_shopper(web_url, mailbox, n) for n in range(CHECKOUT_CONNECTIONS)]
                anonymous: list[dict[str, Any]] = [{} for _ in range(CONNECTIONS)]
                # Direct and through nginx take turns, so a busy moment of this shared machine falls on both.
                direct, through = [], []
                for _ in range(ROUNDS):
                    direct.append(run_phase("list", app_url, anonymous, product_ids))
                    through.append(run_phase("list", web_url, anonymous, product_ids))
                direct_rps, direct_p99 = summary(direct)
                list_rps, list_p99 = summary(through)
                checkout_rps, checkout_p99 = summary([run_phase("checkout", web_url, accounts, product_ids)])
            producer.close()
            pool.close()
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(
        f"shop_load list={list_rps:.0f} req/s p99={list_p99:.1f}ms (through nginx); "
        f"checkout={checkout_rps:.1f}/s p99={checkout_p99:.1f}ms (through nginx); "
        f"list direct={direct_rps:.0f} req/s p99={direct_p99:.1f}ms (app tier) "
        f"({CONNECTIONS} connections, {ROUNDS}x{SECONDS_PER_PHASE:.0f}s a list, clickstream on) "
        f"ratio={list_rps / direct_rps:.2f}"
    )
    return 0


def _shopper(url: str, mailbox: MailSink, number: int) -> dict[str, Any]:
    connection = Connection(url)
    email = f"bench{number}-{uuid.uuid4().hex[:6]}@example.com"
    password = "benchmark password"  # noqa: S105 - a throwaway shopper in a throwaway schema
    body = {"email": email, "password": password, "country": "US"}
    assert connection.call("POST", "/api/signup", body, {"Content-Type": "application/json"}) == 202
    confirmation = {"token": mailbox.confirmation_token(email), "password": password}
    assert connection.call("POST", "/api/signup/confirm", confirmation, {"Content-Type": "application/json"}) == 200
    connection.http.request("POST", "/api/login", json.dumps({"email": email, "password": password}),
                            {"Content-Type": "application/json"})  # fmt: skip
    answer = connection.http.getresponse()
    me = json.loads(answer.read())
    cookie = next(v.split(";")[0] for k, v in answer.getheaders() if k.lower() == "set-cookie" and "shop_session" in v)
    return {"cookie": cookie, "csrf": me["csrf_token"]}


if __name__ == "__main__":
    sys.exit(main())
