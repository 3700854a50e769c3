"""The transform is total and stores only what the contract allows, whatever arrives: property-based.

Every field is drawn from every Unicode category (other scripts' digits, surrogates as JSON escapes,
letters whose case mapping changes their length), beside out-of-range dates, numbers past any
machine's range, wrong JSON types, duplicate keys, several documents in one record, BOMs, invalid
UTF-8, data that is not base64 and odd record ids and arrival times. The properties hold for any
implementation behind `transform` (tests/clickstream_oracle.py says what they are): one answer per
recordId in input order, never an exception nor a fault of ours, every `Ok` record within the contract.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoplake.business import stored_time
from shoplake.clickstream.contract import FIELD_NAMES
from shoplake.clickstream.transform import transform
from tests.clickstream_oracle import check_batch

ARRIVED = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
ARRIVED_MS = int(ARRIVED.timestamp() * 1000)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that is hard to read right: digits of other scripts, fullwidth forms, letters whose case
# mapping changes their length, signs and spaces of other kinds.
# fmt: off
AWKWARD_TEXT = [
    "١", "²", "٣", "０", "９", "٧٧", "১", "߀", "ß", "İ", "ŉ", "ﬁ", "ǅ", "ΐ", "ẞ", "\u0130" * 40, "ß" * 2,
    "ßa", "ﬁx", "1.2.3.²", "١.٢.٣.٤", "２０３.０.１１３.７７", "203.0.113.٧٧", "::ffff:203.0.113.77",
    "::ffff:１.2.3.4", "1.2.3." + "9" * 5000, "9" * 5000 + ".0.0.1", "2001:db8::%", "[::1]:80", "\u00a0",
    "\u2028", "\u3000", "\ufeff", " x ", "\t", "",
]
AWKWARD_TIMES = [
    "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T05:29:58.123", "２０２６-11-24T05:29:58.123Z",
    "2026-11-24T05:29:58.١٢٣Z", "2026-11-24T05:29:58.123+24:00", "2026-11-24T05:29:58.1234567Z",
    "2026-W48-2T05:29:58.123Z", "20261124T052958Z", "2026-11-24 05:29:58Z", "2026-11-24T05:29:58,123Z",
]
RAW_NUMBERS = [
    "1e400", "-1e400", "1E-400", "1" + "0" * 5000, "-" + "9" * 5000, "-0.0", "-0", "0.1e1", "NaN", "-NaN",
    "Infinity", "-Infinity", "nan", "inf", "2147483647", "2147483648", "-2147483649", "9223372036854775808",
    "18446744073709551616", "0x10", "01", "1.", ".5", "+1", "1e", "1_000",
]
RAW_OTHERS = ["true", "false", "null", "[]", "{}", '[1, "a"]', '{"a": {}}', "[" * 600 + "]" * 600, '"', "'x'"]
# fmt: on
_WINDOW = st.datetimes(
    min_value=datetime(2026, 11, 17, 5, 31), max_value=datetime(2026, 11, 24, 5, 44), timezones=st.just(UTC)
)


def _json_text(text: str, ascii_only: bool) -> str:
    # A str with a lone surrogate cannot be UTF-8: written as JSON's \udXXX escape, it can.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        ascii_only = True
    return json.dumps(text, ensure_ascii=ascii_only)


ANY_TEXT = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(AWKWARD_TEXT)
TEXTS = st.builds(_json_text, ANY_TEXT, st.booleans())
TIMES = st.one_of(
    _WINDOW.map(stored_time),
    st.builds(lambda m, h: m.astimezone(UTC if h == 0 else _offset(h)).isoformat(), _WINDOW, st.integers(-23, 23)),
    _WINDOW.map(lambda m: int(m.timestamp() * 1000)),
    st.sampled_from(AWKWARD_TIMES),
    st.datetimes(timezones=st.just(UTC)).map(lambda m: m.isoformat()),
).map(lambda v: json.dumps(v) if isinstance(v, str) else str(v))
NUMBERS = st.one_of(
    st.sampled_from(RAW_NUMBERS),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats().map(repr),
)
VALUES = st.one_of(TEXTS, TIMES, NUMBERS, st.sampled_from(RAW_OTHERS))


def _offset(hours: int) -> Any:
    from datetime import timezone  # noqa: PLC0415 - only for drawn offsets

    return timezone(timedelta(hours=hours))


def near_valid_event() -> dict[str, str]:
    """A valid event, each value as raw JSON text (so that any JSON token can stand in its place)."""
    event = {
        "event_id": "e-1",
        "event_time": stored_time(ARRIVED - timedelta(seconds=2)),
        "event_type": "add_to_cart",
        "session_id": "s-1",
        "user_id": "u-77",
        "page": "/products/17",
        "product_id": "17",
        "category": "tops",
        "price": 39.9,
        "quantity": 2,
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
        "client_ip": "203.0.113.77",
        "country": "KR",
    }
    return {json.dumps(k): json.dumps(v) for k, v in event.items()}


KEYS = st.one_of(
    st.sampled_from([*FIELD_NAMES, "client_ip", "extra", "", "Event_ID", "event_id\u0000"]).map(json.dumps),
    st.builds(_json_text, st.text(st.characters(codec=None), max_size=6), st.booleans()),
)
CHANGES = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, VALUES),
        st.tuples(st.just("set"), st.sampled_from(['"event_time"']), TIMES),
        st.tuples(st.just("set"), st.sampled_from(['"client_ip"', '"country"', '"category"']), TEXTS),
        st.tuples(st.just("drop"), KEYS, st.just("")),
        st.tuples(st.just("repeat"), KEYS, VALUES),  # a duplicate key, after the first
    ),
    max_size=4,
)
# Whole-record damage: none, mostly; else a BOM, several documents, invalid UTF-8, a cut.
WRAPS = st.sampled_from(
    ["", "", "", "", "bom", "twice", "twice-nl", "trailing-doc", "trailing-nl", "utf8-bad", "surrogate-utf8", "cut"]
)


def render(changes: list[tuple[str, str, str]], wrap: str, cut: int) -> bytes:
    pairs = list(near_valid_event().items())
    for action, key, value in changes:
        if action == "set":
            pairs = [(k, value if k == key else v) for k, v in pairs]
            if all(k != key for k, _ in pairs):
                pairs.append((key, value))
        elif action == "drop":
            pairs = [(k, v) for k, v in pairs if k != key]
        else:
            pairs.append((key, value))
    raw = ("{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}").encode("utf-8")
    wrapped = {
        "bom": b"\xef\xbb\xbf" + raw,
        "twice": raw + b" " + raw,
        "twice-nl": raw + b"\n" + raw + b"\n",
        "trailing-doc": raw + b" 1",
        "trailing-nl": raw + b"\n",
        "utf8-bad": raw.replace(b'"s-1"', b'"s-\xff\xc3("'),
        "surrogate-utf8": raw.replace(b'"s-1"', b'"s-\xed\xa0\x80"'),
        "cut": raw[: cut % max(len(raw), 1)],
    }
    return wrapped.get(wrap, raw)


# The record around the payload: Firehose's shape, and the odd ones a careless caller makes.
FORM_NAMES = ["standard"] * 6 + ["unpadded", "urlsafe", "spaced", "not-base64", "none", "number"]
DATA_FORMS = st.sampled_from(FORM_NAMES)
RECORD_IDS = st.one_of(
    st.just(None),  # numbered in order
    st.sampled_from(["", "r0", "same", "🦆", "x" * 300]),
    st.sampled_from([7, None, 1.5]).map(lambda v: ("raw", v)),
)
ARRIVAL_VALUES: list[object] = [
    *[ARRIVED_MS] * 6,
    *[None, "missing", str(ARRIVED_MS), float(ARRIVED_MS), True, 10**30, -(10**30), 0],
]
ARRIVALS = st.sampled_from(ARRIVAL_VALUES)


def item(payload: bytes, form: str, record_id: object, arrival: object, i: int) -> dict[str, Any]:
    data: object = {
        "standard": base64.b64encode(payload).decode(),
        "unpadded": base64.b64encode(payload).decode().rstrip("="),
        "urlsafe": base64.urlsafe_b64encode(payload).decode(),
        "spaced": " ".join(base64.b64encode(payload).decode()),
        "not-base64": "%%" + base64.b64encode(payload).decode() + "!",
        "none": None,
        "number": 12,
    }[form]
    record: dict[str, Any] = {"data": data}
    if isinstance(record_id, tuple):
        record["recordId"] = record_id[1]
    else:
        record["recordId"] = f"r{i}" if record_id is None else record_id
    if arrival != "missing":
        record["approximateArrivalTimestamp"] = arrival
    return record


@SETTINGS
@given(st.lists(st.tuples(st.binary(max_size=200), DATA_FORMS, RECORD_IDS, ARRIVALS), max_size=8))
def test_any_bytes_get_one_answer_each_and_nothing_outside_the_contract(
    drawn: list[tuple[bytes, str, object, object]],
) -> None:
    # GIVEN records of arbitrary bytes, in any wrapping WHEN transformed THEN the oracle holds
    batch = [item(payload, form, rid, arrival, i) for i, (payload, form, rid, arrival) in enumerate(drawn)]
    check_batch(batch, transform(batch, now=ARRIVED), ARRIVED)


@settings(SETTINGS, max_examples=80)
@given(
    st.lists(st.tuples(CHANGES, WRAPS, st.integers(0, 400), DATA_FORMS, RECORD_IDS, ARRIVALS), min_size=1, max_size=6),
    st.lists(st.integers(0, 5), max_size=3),
)
def test_near_valid_events_get_one_answer_each_and_nothing_outside_the_contract(
    drawn: list[tuple[list[tuple[str, str, str]], str, int, str, object, object]], repeats: list[int]
) -> None:
    # GIVEN valid events with fields replaced by any JSON token, wrapped in damage, some repeated exactly
    batch = [item(render(c, w, cut), f, rid, a, i) for i, (c, w, cut, f, rid, a) in enumerate(drawn)]
    batch += [dict(batch[r % len(batch)], recordId=f"again{n}") for n, r in enumerate(repeats)]
    # WHEN transformed THEN the oracle holds
    check_batch(batch, transform(batch, now=ARRIVED), ARRIVED)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["client_ip", "country", "category", "event_time"]), VALUES), max_size=3))
def test_hostile_values_in_the_derived_fields_are_stored_within_the_contract_or_refused_by_name(
    fields: list[tuple[str, str]],
) -> None:
    # GIVEN a valid event whose derived fields hold hostile values WHEN transformed
    changes = [("set", json.dumps(name), value) for name, value in fields]
    batch = [item(render(changes, "", 0), "standard", None, ARRIVED_MS, 0)]
    result = transform(batch, now=ARRIVED)
    # THEN it is stored within the contract, or refused with a reason naming one of the changed fields (or
    # saying the record is no JSON the decoder reads: 1e400, a lone surrogate's escape)
    check_batch(batch, result, ARRIVED)
    for _, reason in result.failures:
        assert any(reason.startswith(name) for name, _ in fields) or "JSON" in reason, reason
