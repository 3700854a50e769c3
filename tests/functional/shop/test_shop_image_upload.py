"""A product's image goes from the seller straight to S3 (moto's server on loopback) with the presigned POST."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from psycopg_pool import ConnectionPool

from shop.app.api import create_app
from shop.app.clicks import Clicks
from shop.app.images import ImageUploads
from shop.app.passwords import fast_passwords
from shop.app.payments import LocalTestProvider
from shop.app.settings import Settings
from tests.functional.shop.shopping import customer

BUCKET = "shoplake-test-uploads"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def s3_server() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    yield client
    server.stop()


def test_a_sellers_image_lands_in_s3_under_the_key_the_shop_chose(pool: ConnectionPool[Any], s3_server: Any) -> None:
    app = create_app(
        pool=pool, settings=Settings(), passwords=fast_passwords(), payments=LocalTestProvider(), clicks=Clicks(None),
        images=ImageUploads(s3_server, BUCKET, 5 * 2**20),
    )  # fmt: skip
    with TestClient(app, base_url="https://shop.test") as client:
        customer(client, seller=True)
        posted = client.post(
            "/api/products",
            json={
                "name": "Rain shell",
                "category": "outerwear",
                "price": "120.00",
                "stock": 2,
                "images": ["image/png"],
            },
        ).json()
        upload = posted["uploads"][0]
        # The browser's part: a multipart POST of the presigned fields and the file, straight to S3.
        sent = httpx.post(upload["url"], data=upload["fields"], files={"file": ("shell.png", PNG, "image/png")})
        assert sent.status_code == 204
        stored = s3_server.get_object(Bucket=BUCKET, Key=upload["key"])
        assert stored["ContentType"] == "image/png" and stored["Body"].read() == PNG
        shown = client.get(f"/api/products/{posted['product']['product_id']}").json()
        assert shown["image_urls"] == [f"/images/{upload['key']}"] and shown["image_url"] == shown["image_urls"][0]
