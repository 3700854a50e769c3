"""The transform's safety net: whatever one record raises fails that record alone, never its batch.

A record that breaks the contract fails naming the field; a fault of ours met on one record (an
exception nobody foresaw) fails that record with `<field>: unexpected <type>: <message>`. Either way its
neighbours get the answers they get without it, by the canonical path and the general path alike.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoplake.business import stored_time
from shoplake.clickstream.rules import BatchMemo
from shoplake.clickstream.transform import BatchResult, transform
from tests.canonical_path import ARRIVED, assert_same_answers, both_ways, canonical_event, item

# A client address the tests make our own code fail on, wherever it is met (both paths look it up).
POISONED = "2001:db8::dead"


@pytest.fixture(autouse=True)
def _a_fault_of_ours_on_one_address(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    looked_up = BatchMemo.network

    def network(memo: BatchMemo, address: object) -> str | None:
        if address == POISONED:
            raise RuntimeError("a fault of ours")
        return looked_up(memo, address)

    monkeypatch.setattr(BatchMemo, "network", network)
    yield


def _payload(event: dict[str, Any], raw: dict[str, str] | None = None) -> bytes:
    """The event as JSON, with `raw` values written into it as given (deep nests, numbers past 64 bits)."""
    text = json.dumps(event, ensure_ascii=False)[:-1]
    for name, value in (raw or {}).items():
        text += f', "{name}": {value}'
    return (text + "}").encode()


def test_a_fault_met_on_one_record_fails_that_record_alone_naming_the_fault() -> None:
    # GIVEN a batch whose middle record makes our own code raise (its client address, here)
    events = [canonical_event(event_id="e0"), canonical_event(event_id="e1", client_ip=POISONED)]
    events.append(canonical_event(event_id="e2", client_ip="2001:db8::1"))
    batch = [item(_payload(e), f"r{i}") for i, e in enumerate(events)]
    # WHEN it is transformed, canonical path first (which meets the fault) and general path alone
    ours, general = both_ways(batch)
    # THEN that record fails with a reason naming the fault, and the others are stored
    assert [r["result"] for r in ours.records] == ["Ok", "ProcessingFailed", "Ok"]
    assert ours.failures == [("r1", "client_ip: unexpected RuntimeError: a fault of ours")]
    assert ours.counts["client_ip"] == 1 and ours.counts["ok"] == 2
    assert_same_answers(ours, general)
    # AND the others are stored exactly as without it
    answers, clean = _answers(ours), _answers(transform([batch[0], batch[2]], now=ARRIVED))
    assert [answers[0], answers[2]] == clean


def test_a_fault_before_the_record_is_even_read_fails_it_alone() -> None:
    # GIVEN a batch with an entry that is not a Firehose record at all, between two good ones
    good = [item(_payload(canonical_event(event_id=f"e{i}")), f"r{i}") for i in range(2)]
    batch: list[Any] = [good[0], None, good[1]]
    # WHEN transformed THEN it alone fails, saying what it is not, and the batch is answered in full
    result = transform(batch, now=ARRIVED)
    assert [r["result"] for r in result.records] == ["Ok", "ProcessingFailed", "Ok"]
    assert result.failures == [("", "record: not a Firehose record (an object with recordId and data)")]


# Property-based: batches of hostile records, each answered as it is answered alone.
OFFSETS = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)).map(
    timezone
)
EXTREME_TIMES = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 2), timezones=OFFSETS).map(datetime.isoformat),
    st.datetimes(min_value=datetime(9999, 12, 30), timezones=OFFSETS).map(datetime.isoformat),
    st.datetimes(timezones=OFFSETS).map(datetime.isoformat),
    st.datetimes(min_value=datetime(2026, 11, 17, 6), max_value=datetime(2026, 11, 24, 5), timezones=OFFSETS).map(
        datetime.isoformat
    ),
    st.integers(-(2**64), 2**64),
    st.sampled_from(["0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59-09:00", "9999-12-31T23:59:59.999999Z"]),
).map(json.dumps)
HUGE_NUMBERS = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.sampled_from(["1e308", "-1e308", "1e400", "-1e400", "9" * 40, "-" + "9" * 40, "1e-400", "2147483648"]),
)
DEEP_NESTS = st.integers(1, 1100).flatmap(
    lambda depth: st.sampled_from(["[" * depth + "]" * depth, '{"a": ' * depth + "1" + "}" * depth])
)
HOSTILE = st.one_of(EXTREME_TIMES, HUGE_NUMBERS, DEEP_NESTS)
FIELDS = st.sampled_from(
    ["event_time", "event_type", "price", "quantity", "client_ip", "country", "user_agent", "device_class",
     "product_id", "page", "extra"]
)  # fmt: skip
RECORDS = st.lists(st.tuples(st.dictionaries(FIELDS, HOSTILE, max_size=2), st.booleans()), min_size=1, max_size=8)


def _answers(result: BatchResult) -> list[tuple[Any, ...]]:
    """Each record's answer: id, result, the stored record (decoded: the paths may order its fields apart),
    partition keys, failure reasons."""
    return [
        (
            r["recordId"],
            r["result"],
            json.loads(base64.b64decode(r["data"])) if r["result"] == "Ok" else r["data"],
            r.get("metadata"),
            [reason for record_id, reason in result.failures if record_id == r["recordId"]],
        )
        for r in result.records
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS, st.lists(st.datetimes(min_value=datetime(2026, 11, 17, 6), max_value=datetime(2026, 11, 24, 5))))
def test_any_hostile_record_is_answered_as_it_is_alone_by_both_paths(
    hostile: list[tuple[dict[str, str], bool]], times: list[datetime]
) -> None:
    # GIVEN canonical events with extreme times, huge numbers or deep nests written into them, some poisoned
    batch = []
    for i, (raw, poisoned) in enumerate(hostile):
        when = stored_time(times[i].replace(tzinfo=UTC)) if i < len(times) else "2026-11-24T05:29:58.123Z"
        event = canonical_event(event_id=f"e{i}", event_time=when, client_ip=POISONED if poisoned else None)
        batch.append(item(_payload({k: v for k, v in event.items() if k not in raw}, raw), f"r{i}"))
    # WHEN the batch is transformed, both ways
    ours, general = both_ways(batch)
    # THEN nothing raised, both paths agree, and every record got the answer it gets alone
    assert_same_answers(ours, general)
    assert [r["recordId"] for r in ours.records] == [r["recordId"] for r in batch]
    answers = _answers(ours)
    for i, record in enumerate(batch):
        assert [answers[i]] == _answers(transform([record], now=ARRIVED))
        raw, poisoned = hostile[i]
        if poisoned and "client_ip" not in raw:
            assert ours.records[i]["result"] == "ProcessingFailed"
