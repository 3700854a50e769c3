"""An oracle for the clickstream transform's answers, written from the contract alone.

`check_batch(items, result, now)` asserts what must hold whichever implementation runs: exactly one
answer per input record, in input order; every `Ok` record, read back, satisfies `contract.FIELDS`
and its enumerations; failures reported once each, none by the safety net (`unexpected: ...`);
`Dropped` only for a repeat of a record stored earlier in the batch. Used by the property tests
(tests/unit/test_clickstream_total*.py) and the fuzz run (tests/fuzz/).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shoplake.clickstream.contract import (
    FIELDS,
    NEEDS_PRICE_AND_QUANTITY,
    NEEDS_PRODUCT,
    NEEDS_SEARCH_TERM,
    SCHEMA_VERSION,
    DeviceClass,
    EventType,
)
from shoplake.clickstream.transform import DROPPED, FAILED, NEWEST, OK, OLDEST, BatchResult

STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z", re.ASCII)
COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
INT32 = 2**31 - 1
SMALLINT = 2**15 - 1
_BY_NAME = {f.name: f for f in FIELDS}


def _is_int(value: object) -> bool:
    return type(value) is int


def _check_type(name: str, glue: str, value: object) -> None:
    if glue in ("string", "timestamp"):
        assert type(value) is str, (name, value)
        value.encode("utf-8")  # no lone surrogate: Parquet strings are UTF-8
    elif glue == "double":
        # JSON does not tell 40 from 40.0; the Parquet conversion reads either as a double.
        assert _is_int(value) or type(value) is float, (name, value)
        assert math.isfinite(value), (name, value)  # type: ignore[arg-type]
    elif glue == "int":
        assert _is_int(value) and -INT32 - 1 <= value <= INT32, (name, value)  # type: ignore[operator]
    elif glue == "smallint":
        assert _is_int(value) and -SMALLINT - 1 <= value <= SMALLINT, (name, value)  # type: ignore[operator]
    elif glue == "boolean":
        assert type(value) is bool, (name, value)
    else:
        raise AssertionError(f"the oracle does not know the Glue type {glue} of {name}")


def _check_network(text: str) -> None:
    assert text.isascii(), text
    network = ipaddress.ip_network(text)
    assert str(network) == text, text
    if network.version == 4:
        assert network.prefixlen == 24, text
    else:
        assert network.prefixlen == 48, text
        assert int(network.network_address) >> 80 != 0, f"{text}: ::/48 names no network"


def check_stored(stored: object, metadata: object, arrived_ms: int) -> None:
    """One stored record, decoded, and its metadata, against the contract; AssertionError saying what breaks."""
    assert type(stored) is dict, stored
    assert set(stored) <= set(_BY_NAME), set(stored) - set(_BY_NAME)
    missing = [f.name for f in FIELDS if f.required and f.name not in stored]
    assert missing == [], missing
    for name, value in stored.items():
        field = _BY_NAME[name]
        _check_type(name, field.glue, value)
        if type(value) is str:
            assert value and value == value.strip(), (name, value)  # text trimmed, empty text absent
            if field.max_length is not None:
                assert len(value) <= field.max_length, (name, len(value))
    event_type = stored["event_type"]
    assert event_type in {e.value for e in EventType}, event_type
    assert stored["device_class"] in {d.value for d in DeviceClass}, stored["device_class"]
    assert stored["schema_version"] == SCHEMA_VERSION
    if "country" in stored:
        assert COUNTRY.fullmatch(stored["country"]), stored["country"]
    if "category" in stored:
        assert stored["category"] == stored["category"].lower(), stored["category"]
    if "client_ip_prefix" in stored:
        _check_network(stored["client_ip_prefix"])
    if "quantity" in stored:
        assert 1 <= stored["quantity"] <= INT32, stored["quantity"]
    if "price" in stored:
        assert stored["price"] >= 0, stored["price"]
    if event_type in NEEDS_PRODUCT:
        assert "product_id" in stored, event_type
    if event_type in NEEDS_PRICE_AND_QUANTITY:
        assert "price" in stored and "quantity" in stored, event_type
    if event_type in NEEDS_SEARCH_TERM:
        assert "search_term" in stored, event_type
    when = stored["event_time"]
    assert STORED_TIME.fullmatch(when), when
    moment = datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    moment_ms = int(moment.timestamp() * 1000)
    oldest, newest = int(OLDEST.total_seconds() * 1000), int(NEWEST.total_seconds() * 1000)
    assert arrived_ms - oldest <= moment_ms <= arrived_ms + newest, (when, arrived_ms)
    keys = {"year": when[0:4], "month": when[5:7], "day": when[8:10], "hour": when[11:13]}
    assert metadata == {"partitionKeys": keys}, (metadata, when)


def read_back(data: object) -> object:
    """An `Ok` answer's data: base64 of one UTF-8 JSON document on one line ending in a newline."""
    assert type(data) is str, data
    line = base64.b64decode(data, validate=True)
    assert line.endswith(b"\n") and line.count(b"\n") == 1, line
    return json.loads(line.decode("utf-8"))


def _payload(data: object) -> bytes | None:
    if type(data) is not str:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_batch(items: Sequence[Mapping[str, Any]], result: BatchResult, now: datetime) -> None:
    """The transform's whole answer to `items`, transformed with `now`, against the contract.

    An item's window is its `approximateArrivalTimestamp` when that is an integer (not a boolean), else `now`.
    """
    answers = result.response()["records"]
    assert len(answers) == len(items)
    json.dumps(result.response())  # what the Lambda runtime must serialise
    stored_payloads: set[bytes] = set()
    failed_ids = []
    for given, answer in zip(items, answers, strict=True):
        record_id = given.get("recordId")
        if type(record_id) is str:
            assert answer["recordId"] == record_id
        assert answer["result"] in (OK, DROPPED, FAILED), answer
        payload = _payload(given.get("data"))
        if answer["result"] == OK:
            arrival = given.get("approximateArrivalTimestamp")
            arrived_ms = arrival if _is_int(arrival) else int(now.timestamp() * 1000)
            check_stored(read_back(answer["data"]), answer["metadata"], arrived_ms)  # type: ignore[arg-type]
            assert payload is not None, "stored from data that is not base64"
            stored_payloads.add(payload)
            continue
        assert "metadata" not in answer, answer
        if type(given.get("data")) is str:
            assert answer["data"] == given["data"], "a refused record's data goes back unchanged"
        if answer["result"] == DROPPED:
            assert payload in stored_payloads, "dropped, but no earlier record with its payload was stored"
        else:
            failed_ids.append(answer["recordId"])
    assert [record_id for record_id, _ in result.failures] == failed_ids
    for record_id, reason in result.failures:
        assert type(reason) is str and reason, record_id
        assert not reason.startswith("unexpected"), f"the safety net caught a fault of ours: {reason}"
