"""The transform's canonical path (the compiled `_canonical` module) answers exactly as the general path.

Every test here runs a batch twice: as the transform runs it (canonical path first, the
general path for what it passes on) and through the general path alone. The answers must
be the same record for record: result, stored record, partition keys, failure reasons.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.sample_clickstream import day_of_traffic
from local_stack.template import load_template
from shoplake.business import stored_time
from shoplake.clickstream import transform as transform_module
from shoplake.clickstream.transform import BatchResult, transform

ARRIVED = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
ARRIVED_MS = int(ARRIVED.timestamp() * 1000)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


@contextmanager
def general_path_only() -> Iterator[None]:
    with mock.patch.object(transform_module, "_native", None):
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
            assert json.loads(base64.b64decode(mine["data"], validate=True)) == json.loads(
                base64.b64decode(reference["data"])
            )
            assert mine["metadata"] == reference["metadata"]
        else:
            assert mine["data"] == reference["data"]
            assert "metadata" not in mine
    assert ours.failures == general.failures
    assert ours.counts == general.counts


def item(payload: bytes | str, record_id: object = "r", arrival: object = ARRIVED_MS) -> dict[str, Any]:
    data = base64.b64encode(payload).decode() if isinstance(payload, bytes) else payload
    return {"recordId": record_id, "approximateArrivalTimestamp": arrival, "data": data}


def native_run(batch: list[dict[str, Any]], fallback_ms: int = 0) -> tuple[list[Any], list[int], int]:
    """The canonical path alone: its results (None where it passes on), what it passes on, and its drops."""
    native = transform_module._native
    assert native is not None, "build it: python layers/shoplake/build_native.py"
    memo = transform_module._BatchMemo()
    return native.run(batch, fallback_ms, memo.agents, memo.network, memo.metadata)


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


def test_the_canonical_path_is_built_and_used_here() -> None:
    # The tests must exercise the compiled module, not only the general path (make builds it).
    assert transform_module.NATIVE, "build it: python layers/shoplake/build_native.py"
    sanitized = os.environ.get("SHOPLAKE_SANITIZED")
    if sanitized:  # the run under sanitizers (below) must test that build
        assert transform_module._native is not None and transform_module._native.__file__ == sanitized
    batch = [item(json.dumps(canonical_event()).encode(), f"r{i}") for i in range(3)]
    results, passed_on, dropped = native_run(batch, ARRIVED_MS)
    assert passed_on == [] and dropped == 2
    assert [r["result"] for r in results] == ["Ok", "Dropped", "Dropped"]


def test_a_day_of_shop_traffic_is_decided_natively_but_for_its_malformed_records() -> None:
    # GIVEN a day of traffic as the shop sends it, with its few malformed records
    day = datetime(2026, 11, 24)
    payloads = day_of_traffic(day, sessions=200)
    batch = [
        item(p, f"r{i}", int(day.replace(tzinfo=UTC).timestamp() * 1000) + 86_400_000) for i, p in enumerate(payloads)
    ]
    _results, passed_on, _dropped = native_run(batch)
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


# Property-based: canonical events, mutated token by token in the ways real and hostile senders do.
# fmt: off
TOKENS = [
    "0", "1", "2", "-1", "-0", "1.5", "39.90", "1E2", "1e-400", "2147483647", "2147483648",
    "12345678901234567890", "true", "false", "null", '""', '" "', '"x"', "[]", "{}", '{"a": [1]}',
    '"page_view"', '"search"', '"purchase"', '"PURCHASE"', '"2026-11-24T05:29:58.123Z"',
    '"2026-11-24T05:29:58Z"', '"203.0.113.7"', '"1.2.3"', '"::1"', '"US"', '"u1"', '"\\u00e9"', '"t\\tab"',
]
# fmt: on
VALUES = st.one_of(
    st.sampled_from(TOKENS),
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
    client_ip=st.sampled_from(["203.0.113.77", "10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1", "01.2.3.4", "", None]),
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


SAM_LAYER = Path(".aws-sam/build/SharedLayer/python")
AARCH64 = 183  # ELF e_machine


def test_the_layer_is_built_with_its_native_module_for_lambdas_arm64() -> None:
    # The template builds the layer with its Makefile, which compiles the module for the layer's architecture.
    template = load_template()
    layer = template["Resources"]["SharedLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    transform_function = template["Resources"]["FirehoseTransformFunction"]["Properties"]
    architectures = transform_function.get("Architectures", template["Globals"]["Function"]["Architectures"])
    assert architectures == ["arm64"]
    makefile = (Path(layer["Properties"]["ContentUri"]) / "Makefile").read_text()
    assert "build-SharedLayer:" in makefile and "--target aarch64-linux-gnu" in makefile
    # and `sam build` (make test runs it before the tests) put an arm64 module beside transform.py
    module = SAM_LAYER / "shoplake" / "clickstream" / "_canonical.abi3.so"
    if not SAM_LAYER.is_dir():
        pytest.skip("sam build has not run here (make test runs it)")
    header = module.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 2 and header[5] == 1  # 64-bit, little-endian
    assert int.from_bytes(header[18:20], "little") == AARCH64
    assert (SAM_LAYER / "shoplake" / "clickstream" / "transform.py").is_file()
    assert not list((SAM_LAYER / "shoplake").rglob("*.c"))
    assert (SAM_LAYER / "aws_lambda_powertools").is_dir() and (SAM_LAYER / "slack_sdk").is_dir()


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


def _sanitizer_runtimes() -> list[str]:
    gcc = shutil.which("gcc")
    if gcc is None:
        return []
    found = [
        subprocess.run([gcc, f"-print-file-name={lib}"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603 - gcc, found on PATH
        for lib in ("libasan.so", "libubsan.so")
    ]
    return [f for f in found if os.path.isabs(f) and os.path.exists(f)]


@pytest.mark.skipif(bool(os.environ.get("SHOPLAKE_SANITIZED")), reason="already the sanitized run")
def test_the_canonical_path_is_memory_safe_under_address_and_undefined_behaviour_sanitizers(tmp_path: Path) -> None:
    # The module parses untrusted bytes in C: every test above runs again against a build with
    # AddressSanitizer and UndefinedBehaviorSanitizer, which abort on any out-of-bounds access,
    # use after free or undefined arithmetic.
    runtimes, gcc = _sanitizer_runtimes(), shutil.which("gcc")
    if len(runtimes) != 2 or gcc is None:
        pytest.skip("needs gcc with libasan and libubsan (Debian: gcc)")
    layer = tmp_path / "layer"
    shutil.copytree(Path("layers/shoplake/shoplake"), layer / "shoplake", ignore=shutil.ignore_patterns("*.so"))
    include = sysconfig.get_paths()["include"]
    source = layer / "shoplake" / "clickstream" / "_canonical.c"
    module = source.with_name("_canonical.abi3.so")
    sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    subprocess.run(  # noqa: S603 - gcc, found on PATH, on our own source
        [gcc, "-O1", "-g", *sanitize, "-fPIC", "-shared", "-I", include, str(source), "-o", str(module)], check=True
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(layer), ".", "glue"]),
        "LD_PRELOAD": ":".join(runtimes),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "PYTHONMALLOC": "malloc",  # Python's own allocations are checked too
        "SHOPLAKE_SANITIZED": str(module),  # which the run checks it imported
    }
    run = subprocess.run(  # noqa: S603 - this interpreter, this file's tests
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-o", "pythonpath=. glue", __file__],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
