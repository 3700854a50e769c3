"""The transform's canonical path answers as the general path on any input: property-based.

Canonical events mutated token by token as real and hostile senders do, batches with
duplicates anywhere, hundreds of user agents, and bytes damaged anywhere, each run both ways.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoplake.business import stored_time
from tests.canonical_path import (
    ARRIVED_MS,
    CLIENT_ADDRESSES,
    DESKTOP,
    IPHONE,
    assert_same_answers,
    both_ways,
    canonical_event,
    item,
)

# Property-based: canonical events, mutated token by token in the ways real and hostile senders do.
# fmt: off
TOKENS = [
    "0", "1", "2", "-1", "-0", "1.5", "39.90", "1E2", "1e-400", "2147483647", "2147483648",
    "12345678901234567890", "true", "false", "null", '""', '" "', '"x"', "[]", "{}", '{"a": [1]}',
    '"page_view"', '"search"', '"purchase"', '"PURCHASE"', '"2026-11-24T05:29:58.123Z"',
    '"2026-11-24T05:29:58Z"', '"2026-W48-2T05:29:58.123Z"', '"0001-01-01T00:00:00+09:00"',
    '"9999-12-31T23:59:59-09:00"', "-62135596800001", "253402300800000",
    '"203.0.113.7"', '"1.2.3"', '"::1"', '"US"', '"u1"', '"\\u00e9"', '"t\\tab"',
    *(json.dumps(address) for address in CLIENT_ADDRESSES),
]
# fmt: on
# Addresses built part by part, around the one IPv4 form the canonical path decides itself: the
# search for an address the two paths read differently (once "203.0.113.77.", Ok natively only).
NEAR_ADDRESSES = st.builds(
    lambda before, parts, after: before + ".".join(parts) + after,
    st.sampled_from(["", "", "", ".", " ", "[", "::", "::ffff:", "::ffff:0:", "64:ff9b::"]),
    st.lists(
        st.sampled_from(["0", "7", "10", "99", "203", "255", "256", "00", "01", "1234", ""]), min_size=2, max_size=6
    ),
    st.sampled_from(["", "", "", ".", "..", " ", ":443", "%eth0", "/24", "]", "\n"]),
)
VALUES = st.one_of(
    st.sampled_from(TOKENS),
    NEAR_ADDRESSES.map(json.dumps),
    st.text(alphabet='aZ09 -./:é\t"\\', max_size=6).map(json.dumps),
    st.text(alphabet="aZ09 -./:é", max_size=6).map(lambda t: json.dumps(t, ensure_ascii=False)),
)
KEYS = st.sampled_from(
    [
        "event_id", "event_time", "event_type", "session_id", "user_id", "page", "referrer", "product_id",
        "category", "search_term", "price", "quantity", "user_agent", "client_ip", "country", "device_class",
        "is_bot", "schema_version", "client_ip_prefix", "extra", "", "Event_Id",
    ]
)  # fmt: skip
MUTATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, VALUES),
        st.tuples(st.just("drop"), KEYS, st.just("")),
        st.tuples(st.just("repeat"), KEYS, VALUES),
        st.tuples(st.just("cut"), st.integers(0, 600).map(str), st.just("")),
    ),
    max_size=3,
)
EVENTS = st.builds(
    canonical_event,
    event_type=st.sampled_from(["page_view", "product_view", "search", "add_to_cart", "purchase", "login"]),
    event_time=st.datetimes(
        min_value=datetime(2026, 11, 17, 5), max_value=datetime(2026, 11, 24, 6), timezones=st.just(UTC)
    ).map(stored_time),
    search_term=st.sampled_from([None, "linen shirt"]),
    user_agent=st.sampled_from([IPHONE, DESKTOP, "Googlebot/2.1", "curl/8.4", "x", None]),
    client_ip=st.one_of(st.sampled_from([*CLIENT_ADDRESSES, "", None]), NEAR_ADDRESSES),
    price=st.one_of(st.none(), st.floats(0, 1e6), st.integers(0, 10**6)),
    quantity=st.one_of(st.none(), st.integers(1, 5)),
)


def render(event: dict[str, Any], mutations: list[tuple[str, str, str]], spaced: bool) -> bytes:
    pairs = [(json.dumps(k), json.dumps(v)) for k, v in event.items()]
    cut = None
    for action, key, value in mutations:
        quoted = json.dumps(key)
        if action == "set":
            pairs = [(k, value if k == quoted else v) for k, v in pairs]
            if all(k != quoted for k, _ in pairs):
                pairs.append((quoted, value))
        elif action == "drop":
            pairs = [(k, v) for k, v in pairs if k != quoted]
        elif action == "repeat":
            pairs.append((quoted, value))
        else:
            cut = int(key)
    text = "{" + (", " if spaced else ",").join(f"{k}{': ' if spaced else ':'}{v}" for k, v in pairs) + "}"
    raw = text.encode()
    return raw[:cut] if cut is not None else raw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(EVENTS, MUTATIONS, st.booleans()), min_size=1, max_size=12), st.randoms())
def test_any_batch_gets_the_general_paths_answers(
    drawn: list[tuple[dict[str, Any], list[tuple[str, str, str]], bool]], rng: random.Random
) -> None:
    payloads = [render(event, mutations, spaced) for event, mutations, spaced in drawn]
    payloads += [rng.choice(payloads) for _ in range(len(payloads) // 2)]  # exact duplicates, anywhere
    rng.shuffle(payloads)
    arrivals = [ARRIVED_MS, ARRIVED_MS, ARRIVED_MS - int(timedelta(days=3).total_seconds() * 1000), None]
    batch = [item(p, f"r{i}", rng.choice(arrivals)) for i, p in enumerate(payloads)]
    assert_same_answers(*both_ways(batch))


def test_many_user_agents_in_one_batch_get_the_general_paths_answers() -> None:
    # More distinct agents than the canonical path keeps at hand: the rest are looked up as the general path does.
    agents = [f"Mozilla/5.0 (Agent {i}; Mobile)" if i % 3 else f"crawler-{i} bot" for i in range(700)]
    batch = [
        item(json.dumps(canonical_event(user_agent=a, event_id=f"e{i}")).encode(), f"r{i}")
        for i, a in enumerate(agents)
    ]
    ours, general = both_ways(batch)
    assert_same_answers(ours, general)
    assert {r["result"] for r in ours.records} == {"Ok"}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.sampled_from(["replace", "delete", "insert"]),
            st.binary(min_size=1, max_size=4) | st.sampled_from([b'"', b"\\", b"{", b"}", b",", b":", b"\x00", b" "]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_damaged_bytes_get_the_general_paths_answers(damage: list[tuple[int, str, bytes]]) -> None:
    # A canonical record with bytes replaced, cut out or slipped in, anywhere: the parser's hostile input.
    payload = bytearray(json.dumps(canonical_event()).encode())
    for position, action, chunk in damage:
        at = position % len(payload)
        if action == "replace":
            payload[at : at + len(chunk)] = chunk
        elif action == "delete":
            del payload[at : at + len(chunk)]
        else:
            payload[at:at] = chunk
    intact = json.dumps(canonical_event(event_id="intact")).encode()
    assert_same_answers(*both_ways([item(bytes(payload), "damaged"), item(intact, "intact")]))
