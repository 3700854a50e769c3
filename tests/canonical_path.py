"""The clickstream transform run both ways, for the tests that hold its canonical path to the general path.

`both_ways` runs a batch as the transform runs it (the msgspec canonical path first, the general
path for what it passes on) and through the general path alone; `assert_same_answers` demands
the same answer record for record: result, stored line (byte for byte), partition keys, failure reasons.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from shoplake.clickstream import canonical
from shoplake.clickstream import transform as transform_module
from shoplake.clickstream.transform import BatchResult, transform

ARRIVED = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
ARRIVED_MS = int(ARRIVED.timestamp() * 1000)
# Client addresses as real and hostile senders write them: the forms either path reads, and the near
# misses beside them (a dot too many or too few, a part too long, a leading zero, a port, a zone, a
# prefix length, brackets, spaces, an IPv4 address inside an IPv6 one). Both paths must answer alike.
CLIENT_ADDRESSES = [
    "203.0.113.77", "255.255.255.255", "10.0.0.1", "203.0.113.77.", "203.0.113.77..",
    ".203.0.113.77", "203.0.113.", "203..113.77", "203.0.113.77.5", "203.0.113.0777", "1234.0.113.77",
    "256.0.113.77", "01.2.3.4", "203.0.113.077", "203.0.113.77:443", "203.0.113.77/24", "203.0.113.77%eth0",
    "[203.0.113.77]", " 203.0.113.77", "203.0.113.77 ", "203.0.113.77\n", "2001:db8::1", "[2001:db8::1]",
    "fe80::1%eth0", "::1", "::", "::ffff:203.0.113.77", "::203.0.113.77", "::ffff:0:203.0.113.77",
    "64:ff9b::203.0.113.77", "2002:cb00:714d::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "0.0.0.0",  # noqa: S104 - text to read, not an address to bind
]  # fmt: skip
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


@contextmanager
def general_path_only() -> Iterator[None]:
    with mock.patch.object(canonical, "decider", lambda _memo: lambda _payload, _arrived_ms: None):
        yield


def both_ways(items: list[dict[str, Any]]) -> tuple[BatchResult, BatchResult]:
    with general_path_only():
        general = transform(items, now=ARRIVED)
    return transform(items, now=ARRIVED), general


def assert_same_answers(ours: BatchResult, general: BatchResult) -> None:
    assert len(ours.records) == len(general.records)
    for mine, reference in zip(ours.records, general.records, strict=True):
        assert mine["recordId"] == reference["recordId"]
        assert mine["result"] == reference["result"], (mine, reference)
        if mine["result"] == "Ok":
            assert mine["data"] == reference["data"], (
                base64.b64decode(mine["data"]),
                base64.b64decode(reference["data"]),
            )
            assert json.loads(base64.b64decode(mine["data"], validate=True))["event_id"]
            assert mine["metadata"] == reference["metadata"]
        else:
            assert mine["data"] == reference["data"]
            assert "metadata" not in mine
    assert ours.failures == general.failures
    assert ours.counts == general.counts


def item(payload: bytes | str, record_id: object = "r", arrival: object = ARRIVED_MS) -> dict[str, Any]:
    data = base64.b64encode(payload).decode() if isinstance(payload, bytes) else payload
    return {"recordId": record_id, "approximateArrivalTimestamp": arrival, "data": data}


def canonical_run(batch: list[dict[str, Any]], fallback_ms: int = ARRIVED_MS) -> tuple[list[Any], list[int], int]:
    """The batch as the transform runs it: its results, the records the general path decided, and the drops."""
    general: list[int] = []
    decide_generally = transform_module._general

    def recorded(item: object, *rest: Any) -> dict[str, Any]:
        general.append(next(i for i, given in enumerate(batch) if given is item))
        return decide_generally(item, *rest)

    with mock.patch.object(transform_module, "_general", recorded):
        result = transform(batch, now=datetime.fromtimestamp(fallback_ms / 1000, UTC))
    return result.records, general, result.counts["duplicate"]


def canonical_event(**changes: Any) -> dict[str, Any]:
    base = {
        "event_id": "0f8c2d4e6a1b4c3d9e8f7a6b5c4d3e2f",
        "event_time": "2026-11-24T05:29:58.123Z",
        "event_type": "add_to_cart",
        "page": "/products/17",
        "referrer": "https://www.google.com/",
        "session_id": "c0ffee00c0ffee00c0ffee00c0ffee00",
        "user_id": "u-00077",
        "user_agent": IPHONE,
        "client_ip": "203.0.113.77",
        "country": "US",
        "product_id": "17",
        "category": "tops",
        "price": 39.9,
        "quantity": 2,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}
