"""The transform's canonical path (msgspec, `canonical`) answers as the general path: named cases.

Each case, hostile JSON, every base64 and arrival-time form is run both ways (tests/canonical_path.py)
and must get the same answer record for record.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack.sample_clickstream import day_of_traffic
from tests.canonical_path import (
    ARRIVED_MS,
    DESKTOP,
    assert_same_answers,
    both_ways,
    canonical_event,
    canonical_run,
    item,
)


def test_the_canonical_path_decides_canonical_records_and_their_repeats() -> None:
    batch = [item(json.dumps(canonical_event()).encode(), f"r{i}") for i in range(3)]
    results, passed_on, dropped = canonical_run(batch, ARRIVED_MS)
    assert passed_on == [] and dropped == 2
    assert [r["result"] for r in results] == ["Ok", "Dropped", "Dropped"]


def test_a_day_of_shop_traffic_is_decided_canonically_but_for_its_malformed_records() -> None:
    # GIVEN a day of traffic as the shop sends it, with its few malformed records
    day = datetime(2026, 11, 24)
    payloads = day_of_traffic(day, sessions=200)
    batch = [
        item(p, f"r{i}", int(day.replace(tzinfo=UTC).timestamp() * 1000) + 86_400_000) for i, p in enumerate(payloads)
    ]
    _results, passed_on, _dropped = canonical_run(batch)
    # THEN only the malformed ones are left to the general path, and the answers are the general path's
    assert len(passed_on) == 6
    assert_same_answers(*both_ways(batch))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"event_type": "page_view", "price": None, "quantity": None, "product_id": None, "category": None},
        {"event_type": "search", "search_term": "linen shirt", "price": None, "quantity": None},
        {"category": "TOPS"},  # stored lower-case
        {"country": "us"},  # stored upper-case
        {"client_ip": "2001:db8:85a3:8d3:1319:8a2e:370:7348"},  # the /48, by the general path's own function
        {"client_ip": "010.001.002.003"},  # leading zeros: refused by the general path
        {"client_ip": "::ffff:203.0.113.77"},  # an IPv4 client, by the general path's own function
        {"client_ip": "::ffff:cb00:714d"},
        {"client_ip": "203.0.113.77:443"},
        {"client_ip": " 203.0.113.77"},
        {"client_ip": "203.0.113.77."},  # a trailing dot: refused by the general path, so passed on
        {"client_ip": "::203.0.113.77"},  # IPv4-compatible: an IPv4 client
        {"client_ip": "::1"},  # no network
        {"client_ip": ""},
        {"client_ip": None, "country": None, "user_id": None, "referrer": None},
        {"user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},  # flagged, not deleted
        {"user_agent": "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X)", "device_class": "desktop"},
        {"user_agent": DESKTOP, "extra": {"nested": [1, 2]}},
        {"price": 20, "quantity": 2147483647},
        {"price": 1e16},
        {"price": 0.1 + 0.2},
        {"price": 0},
        {"event_time": "2026-11-24T05:45:00.000Z"},  # exactly at the window's newest edge
        {"event_time": "2026-11-24T05:45:00.001Z"},
        {"event_time": "2026-11-17T05:30:00.000Z"},  # exactly at the oldest edge
        {"event_time": "2026-11-17T05:29:59.999Z"},
        {"event_time": "2024-02-29T05:29:58.123Z"},
        {"event_time": "2026-02-29T05:29:58.123Z"},  # no such day
        {"event_time": "2026-11-24T24:00:00.000Z"},
        {"event_time": "2026-11-24T05:29:60.000Z"},
        {"event_time": "2026-11-24T05:29:58.123+00:00"},
        {"event_time": "2026-11-24T05:29:58,123Z"},
        {"event_time": "2026-W48-2T05:29:58.123Z"},  # the stored form's shape, but a week date: stored as canonical
        {"event_time": "0001-01-01T00:00:00+09:00"},  # before year 1 once in UTC
        {"event_time": "9999-12-31T23:59:59-09:00"},  # after year 9999 once in UTC
        {"event_time": "0000-11-24T05:29:58.123Z"},
        {"event_time": ARRIVED_MS},
        {"quantity": 2147483648},
        {"quantity": 0},
        {"quantity": 2.0},
        {"price": -0.0},
        {"price": "39.90"},
        {"product_id": 17},  # ids sent as numbers are text
        {"user_id": ""},
        {"session_id": ""},
        {"event_id": "x" * 64},
        {"event_id": "x" * 65},
        {"page": " /products/17"},
        {"search_term": "café"},
        {"event_type": "Add_To_Cart"},
        {"user_agent": ""},
        {"user_agent": None},
        {"device_class": 3},
        {"is_bot": True, "schema_version": 7, "client_ip_prefix": "1.2.3.0/24"},
    ],
)
def test_each_case_gets_the_general_paths_answer(changes: dict[str, Any]) -> None:
    event = canonical_event(**changes)
    for separators in ((",", ":"), (", ", ": ")):
        for ensure_ascii in (True, False):
            payload = json.dumps(event, separators=separators, ensure_ascii=ensure_ascii).encode()
            assert_same_answers(*both_ways([item(payload)]))


@pytest.mark.parametrize(
    "payload",
    [
        b'{"event_id": "a", "event_id": "b"}',
        b"",
        b"{}",
        b"[]",
        b"null",
        b" \n{}\t",
        b'{"price": 1e400}',
        b'{"extra": 1e400}',
        b'{"extra": -1e400}',
        b'{"extra": 123456789012345678901234567890}',
        b'{"extra": 01}',
        b'{"extra": 1.}',
        b'{"extra": .5}',
        b'{"extra": NaN}',
        b'{"extra": tru}',
        b'{"extra": "unterminated',
        b'{"extra": "raw\x01control"}',
        b'{"extra": "\xc3\xa9"}',
        b'{"extra": 1} trailing',
        b'{"extra": 1,}',
        b'{"extra" 1}',
        b'{"extra": 1',
        b'{"a\\u0020b": 1}',
    ],
)
def test_hostile_json_gets_the_general_paths_answer(payload: bytes) -> None:
    # Each one also spliced into an otherwise canonical event, where it can do most harm.
    canonical = json.dumps(canonical_event()).encode()
    spliced = (
        canonical[:-1] + b", " + payload.strip().lstrip(b"{").rstrip(b"}") + b"}" if payload.strip() else canonical
    )
    assert_same_answers(*both_ways([item(payload), item(spliced, "spliced")]))


def test_base64_is_read_exactly_as_the_general_path_reads_it() -> None:
    payload = json.dumps(canonical_event(), separators=(",", ":")).encode()
    encoded = base64.b64encode(payload).decode()
    variants = [encoded, encoded.rstrip("="), encoded + "\n", " " + encoded, encoded.replace("A", "-", 1), "", "=" * 4]
    if encoded.endswith("="):  # unused trailing bits: set them; the same bytes decode
        i = len(encoded.rstrip("=")) - 1
        variants.append(encoded[:i] + chr(ord(encoded[i]) + 1) + encoded[i + 1 :])
    batch = [item(v, f"v{i}") for i, v in enumerate(variants)]
    batch.append({"recordId": 7, "approximateArrivalTimestamp": ARRIVED_MS, "data": payload and encoded})  # int id
    batch.append({"recordId": "bytes", "approximateArrivalTimestamp": ARRIVED_MS, "data": encoded.encode()})
    batch.append({"recordId": "surrogate", "data": "\ud800" + encoded})
    batch.append({"recordId": "none", "data": None})
    batch.append({"data": encoded})
    assert_same_answers(*both_ways(batch))


def test_arrival_times_are_read_exactly_as_the_general_path_reads_them() -> None:
    payload = json.dumps(canonical_event()).encode()
    arrivals = [ARRIVED_MS, str(ARRIVED_MS), None, True, 2**70, -(2**70), float(ARRIVED_MS), ARRIVED_MS + 10**9]
    arrivals += [2**63 - 1, -(2**63), 2**53 + 1, -(2**53) - 1]
    for arrival in arrivals:  # one at a time: the same payload in one batch is a duplicate
        assert_same_answers(*both_ways([item(payload, arrival=arrival)]))
