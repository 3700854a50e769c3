"""Firehose record transformation for the clickstream: validate, normalise, partition.

One result per recordId, always: `Ok` with the normalised record as one JSON line and its
partition keys (the event's own UTC hour), `Dropped` for an exact duplicate within the
batch, `ProcessingFailed` with the reason for anything that breaks the contract (or for a fault
of ours met on that record: `unexpected: ...`). A bad record never raises, nor fails its neighbours.

Speed matters (Lambda bills by the millisecond per batch). Most records arrive exactly as
the shop's producer writes them: plain ASCII JSON, already trimmed, lower-case and in UTC.
Those take the canonical path, a compiled module (`_canonical.c`) that decodes, checks every
rule, derives the stored fields, encodes and drops duplicates in one native pass, configured
from the contract here. Anything else, from upper-case enumerations to broken JSON, takes
the general path (`normalise`), which applies every rule and names the field that breaks
one. Both give the same stored record for the same event (a property test holds them
together); what repeats across records (user agents, networks, hours) is worked out once
per batch, for both.

The record formats are Firehose's: "Required parameters for data transformation"
(https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html) and partition
keys from Lambda ("Understand partitioning keys", dynamic-partitioning-partitioning-keys); `data` is
base64 (RFC 4648, section 4) of UTF-8 JSON (RFC 8259). See tests/events/FIREHOSE_RESPONSE_CONTRACT.md.
"""

from __future__ import annotations

import binascii
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import orjson
import pybase64

from shoplake.business import stored_time
from shoplake.clickstream.client_ip import IPV4_NETWORK_SUFFIX, client_network
from shoplake.clickstream.contract import (
    FIELDS,
    NEEDS_PRICE_AND_QUANTITY,
    NEEDS_PRODUCT,
    NEEDS_SEARCH_TERM,
    SCHEMA_VERSION,
    DeviceClass,
    EventType,
)
from shoplake.clickstream.event_time import event_time_utc

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
# Events older than this, or this far ahead of their arrival, go to the error path.
OLDEST = timedelta(days=7)
NEWEST = timedelta(minutes=15)
_OLDEST_MS = int(OLDEST.total_seconds() * 1000)
_NEWEST_MS = int(NEWEST.total_seconds() * 1000)

# Plain strings, not enum members, on the hot path: enum hashing is Python code.
_EVENT_TYPES = {e.value: e.value for e in EventType}
_NEEDS_PRICE_AND_QUANTITY = frozenset(e.value for e in NEEDS_PRICE_AND_QUANTITY)
_NEEDS_PRODUCT = frozenset(e.value for e in NEEDS_PRODUCT)
_NEEDS_SEARCH_TERM = frozenset(e.value for e in NEEDS_SEARCH_TERM)
_OTHER_DEVICE = DeviceClass.OTHER.value
_DEVICES = {d.value for d in DeviceClass}
_BOT = re.compile(r"bot|crawl|spider|slurp|bingpreview|facebookexternalhit|headless|python-requests|curl/", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android.*mobile|windows phone", re.I)
# The Parquet column is a 32-bit integer.
MAX_QUANTITY = 2**31 - 1


class ContractError(ValueError):
    """The record breaks the event contract; the message names the field."""


@dataclass
class BatchResult:
    """One batch's outcome: Firehose's result records, and what went wrong, for logs and metrics.

    `records` holds one `{"recordId", "result", "data"}` per input record, in input order: `Ok` records
    carry the stored JSON line in base64 and `"metadata": {"partitionKeys": {"year", "month", "day",
    "hour"}}` (the event's UTC hour, zero-padded text); `Dropped` and `ProcessingFailed` ones carry the
    input `data` unchanged. `failures` lists (recordId, reason naming the field, or `unexpected: <exception
    type>: <message>`); `counts` counts `ok`, `duplicate`, and failures by the field their reason names
    (`unexpected` for those).
    """

    records: list[dict[str, Any]]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (recordId, reason)
    counts: Counter[str] = field(default_factory=Counter)

    def response(self) -> dict[str, Any]:
        """What the Lambda function returns to Firehose: `{"records": [...]}`."""
        return {"records": self.records}


def _device(user_agent: str, cache: dict[str, tuple[str, bool]]) -> tuple[str, bool]:
    known = cache.get(user_agent)
    if known is None:
        if _BOT.search(user_agent):
            known = (DeviceClass.BOT.value, True)
        elif _TABLET.search(user_agent):
            known = (DeviceClass.TABLET.value, False)
        elif _MOBILE.search(user_agent):
            known = (DeviceClass.MOBILE.value, False)
        elif user_agent:
            known = (DeviceClass.DESKTOP.value, False)
        else:
            known = (DeviceClass.OTHER.value, False)
        cache[user_agent] = known
    return known


def truncate_ip(address: object) -> str | None:
    """The client's /24 (IPv4) or /48 (IPv6) network: where a visitor is, never who (see `client_ip`).

    `"203.0.113.7"` -> `"203.0.113.0/24"`, `"::ffff:203.0.113.77"` -> `"203.0.113.0/24"`,
    `"2001:db8:1:2::5"` -> `"2001:db8:1::/48"`; None for None, `""` and an address naming no network
    (`"::1"`: see `client_ip.client_network`). Raises ContractError naming `client_ip` for anything else
    that is not an IP address.
    """
    if address is None or address == "":
        return None
    if not isinstance(address, str):
        raise ContractError("client_ip: expected text")
    try:
        return client_network(address)
    except ValueError as error:
        raise ContractError(f"client_ip: {error}") from None


# Text fields checked as they come: name -> longest allowed. Derived or typed fields are handled apart.
_TEXT_LIMITS: dict[str, int | None] = {
    f.name: f.max_length
    for f in FIELDS
    if f.glue == "string" and f.name not in ("event_type", "client_ip_prefix", "country", "device_class")
}
_REQUIRED_TEXT = ("event_id", "session_id")


class _BatchMemo:
    """What repeats across a batch (user agents, client addresses, event hours) is worked out once."""

    def __init__(self) -> None:
        self.agents: dict[str, tuple[str, bool]] = {}
        self.networks: dict[object, str | None] = {}
        self.hours: dict[str, dict[str, dict[str, str]]] = {}

    def network(self, address: object) -> str | None:
        if address.__class__ is not str:
            return truncate_ip(address)
        known = self.networks.get(address, _UNKNOWN)
        if known is _UNKNOWN:
            known = self.networks[address] = truncate_ip(address)
        return known  # type: ignore[return-value]

    def metadata(self, iso_utc: str) -> dict[str, dict[str, str]]:
        """The result's metadata: the partition keys of the event's hour, one shared object per hour."""
        hour = iso_utc[:13]
        metadata = self.hours.get(hour)
        if metadata is None:
            keys = {"year": hour[0:4], "month": hour[5:7], "day": hour[8:10], "hour": hour[11:13]}
            metadata = self.hours[hour] = {"partitionKeys": keys}
        return metadata


_UNKNOWN = object()


def normalise(  # noqa: PLR0912, PLR0915 - one branch per rule of the contract, kept in one readable place
    event: object, arrived_ms: int, memo: _BatchMemo
) -> dict[str, Any]:
    """The stored record for one event, or ContractError naming the field that breaks the contract.

    `event` is the decoded JSON; `arrived_ms` its arrival (epoch ms), against which `event_time` must lie
    within `OLDEST` before and `NEWEST` after. Returns a dict of the `contract.FIELDS` it has values for:
    text trimmed and within its limit, `event_type`/`category` lower-case, `country` upper-case, derived
    `device_class`, `is_bot`, `client_ip_prefix` and `schema_version`; fields outside the contract dropped.
    Absent optional fields stay absent: Parquet conversion stores them as NULL.
    """
    if event.__class__ is not dict:
        raise ContractError("the record is not a JSON object")
    assert isinstance(event, dict)
    record: dict[str, Any] = {}
    for name, given in event.items():
        if name not in _TEXT_LIMITS or given is None:
            continue  # derived fields below; unknown fields are not part of the contract and not stored
        if given.__class__ is not str:
            if given.__class__ is not int:
                raise ContractError(f"{name}: expected text")
            given = str(given)  # noqa: PLW2901 - ids sent as numbers are text
        value = given.strip()
        if not value:
            continue
        limit = _TEXT_LIMITS[name]
        if limit is not None and len(value) > limit:
            raise ContractError(f"{name}: {len(value)} characters, more than {limit}")
        record[name] = value
    for name in _REQUIRED_TEXT:
        if name not in record:
            raise ContractError(f"{name}: required")
    kind = event.get("event_type")
    if kind is None:
        raise ContractError("event_type: required")
    event_type = _EVENT_TYPES.get(kind.strip().lower()) if kind.__class__ is str else None
    if event_type is None:
        raise ContractError(f"event_type: {str(kind)[:40]!r} is not one of {', '.join(_EVENT_TYPES)}")
    record["event_type"] = event_type
    try:
        event_time, moment_ms = event_time_utc(event.get("event_time"))
    except ValueError as error:
        raise ContractError(f"event_time: {error}") from None
    if not arrived_ms - _OLDEST_MS <= moment_ms <= arrived_ms + _NEWEST_MS:
        raise ContractError(f"event_time: {event_time} is outside the accepted window around its arrival")
    record["event_time"] = event_time
    if "category" in record:
        record["category"] = record["category"].lower()
    price, quantity = event.get("price"), event.get("quantity")
    if price is not None:
        if price.__class__ not in (int, float) or price < 0:
            raise ContractError("price: expected a number of at least 0")
        record["price"] = float(price)
    if quantity is not None:
        if quantity.__class__ is not int or not 1 <= quantity <= MAX_QUANTITY:
            raise ContractError(f"quantity: expected a whole number from 1 to {MAX_QUANTITY}")
        record["quantity"] = quantity
    if event_type in _NEEDS_PRICE_AND_QUANTITY and (price is None or quantity is None):
        raise ContractError(f"price and quantity: required for {event_type}")
    if event_type in _NEEDS_PRODUCT and "product_id" not in record:
        raise ContractError(f"product_id: required for {event_type}")
    if event_type in _NEEDS_SEARCH_TERM and "search_term" not in record:
        raise ContractError("search_term: required for search")
    device, is_bot = _device(record.get("user_agent", ""), memo.agents)
    if device == _OTHER_DEVICE:
        sent = event.get("device_class")
        device = sent.strip().lower() if isinstance(sent, str) and sent.strip().lower() in _DEVICES else device
    record["device_class"], record["is_bot"] = device, is_bot
    network = memo.network(event.get("client_ip"))
    if network is not None:
        record["client_ip_prefix"] = network
    country = event.get("country")
    if country is not None:
        if country.__class__ is not str or len(country.strip()) != 2 or not country.strip().isalpha():
            raise ContractError("country: expected a two-letter ISO code")
        record["country"] = country.strip().upper()
    record["schema_version"] = SCHEMA_VERSION
    return record


# Every field of the event the general path reads, for the canonical path: how it is read there.
def _configure_canonical(native: Any) -> None:
    kinds = {
        "event_type": native.EVENT_TYPE,
        "event_time": native.EVENT_TIME,
        "price": native.PRICE,
        "quantity": native.QUANTITY,
        "client_ip": native.CLIENT_IP,
        "country": native.COUNTRY,
        "device_class": native.IGNORED,  # counts only when the user agent says nothing: the general path's case
        "category": native.TEXT_LOWER,
        "user_agent": native.USER_AGENT,
    }
    inputs = [
        (name, kinds.get(name, native.TEXT), limit or 0, name in _REQUIRED_TEXT) for name, limit in _TEXT_LIMITS.items()
    ]
    inputs += [(name, kind, 0, False) for name, kind in kinds.items() if name not in _TEXT_LIMITS]
    # The stored record's fields, in the contract's order: an incoming field, or one derived here.
    sources = {name: i for i, (name, *_rest) in enumerate(inputs)}
    sources |= {
        "client_ip_prefix": native.NETWORK,
        "device_class": native.DEVICE,
        "is_bot": native.BOT,
        "schema_version": native.VERSION,
    }
    unknown = [f.name for f in FIELDS if f.name not in sources]
    if unknown:
        raise RuntimeError(f"the contract stores {unknown}: teach normalise and _canonical.c how")
    # _canonical.c keeps an event time as sent only when it is exactly the stored form (YYYY-MM-DDTHH:MM:SS.mmmZ,
    # ASCII digits in every place, a real date and time): text that is stored_time of its own instant.
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if stored_time(epoch) != "1970-01-01T00:00:00.000Z":
        raise RuntimeError(f"the stored time form is now {stored_time(epoch)}: teach _canonical.c")
    native.configure(
        tuple(inputs),
        tuple((f.name, sources[f.name]) for f in FIELDS),
        tuple(_EVENT_TYPES),
        (
            (tuple(_NEEDS_PRICE_AND_QUANTITY), ("price", "quantity")),
            (tuple(_NEEDS_PRODUCT), ("product_id",)),
            (tuple(_NEEDS_SEARCH_TERM), ("search_term",)),
        ),
        _OLDEST_MS,
        _NEWEST_MS,
        MAX_QUANTITY,
        SCHEMA_VERSION,
        IPV4_NETWORK_SUFFIX,
        _OTHER_DEVICE,
        _device,
        ContractError,
        OK,
        DROPPED,
    )


# The canonical path: most records arrive exactly as the shop's producer writes them, and a
# compiled module (_canonical.c, built by layers/shoplake/build_native.py) decides those in
# one native pass, configured from the contract above. It decides Ok or Dropped, never a
# failure: whatever it is not certain about, it passes to the general path.
def _load_canonical() -> ModuleType | None:
    try:
        from shoplake.clickstream import _canonical  # noqa: PLC0415 - compiled: may not be built here
    except ImportError:  # the general path decides every record, as correctly and more slowly
        return None
    _configure_canonical(_canonical)
    return _canonical


_native = _load_canonical()
NATIVE = _native is not None


# An unexpected failure's reason is cut to this many characters: it goes to the logs, record by record.
_REASON_LENGTH = 200


def _general(
    item: Mapping[str, Any], fallback_ms: int, seen: set[bytes], memo: _BatchMemo, result: BatchResult
) -> dict[str, Any]:
    """One record's result by the general path, its failure or duplicate counted in result.

    A record that breaks the contract fails with the reason naming the field. One that raises anything
    else while it is decided (a fault of ours, not yet met) fails too, its reason `unexpected: <exception
    type>: <message>`: one record never takes its batch down with it.
    """
    record_id, raw = "", ""
    try:
        record_id = str(item.get("recordId", ""))
        raw = item.get("data") or ""
        arrival = item.get("approximateArrivalTimestamp")
        arrived_ms = arrival if arrival.__class__ is int else fallback_ms
        try:
            payload = pybase64.b64decode(raw, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ContractError("data: not base64") from None
        if payload in seen:
            result.counts["duplicate"] += 1
            return {"recordId": record_id, "result": DROPPED, "data": raw}
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise ContractError("the record is not JSON") from None
        stored = normalise(event, arrived_ms, memo)
        line = pybase64.b64encode_as_string(orjson.dumps(stored, option=orjson.OPT_APPEND_NEWLINE))
        answer = {"recordId": record_id, "result": OK, "data": line, "metadata": memo.metadata(stored["event_time"])}
    except ContractError as error:
        reason = str(error)
    except Exception as error:  # noqa: BLE001 - the safety net: whatever one record raises fails that record alone
        reason = f"unexpected: {type(error).__name__}: {error}"[:_REASON_LENGTH]
    else:
        seen.add(payload)  # only once it is stored: the duplicate of a record that failed fails the same way
        return answer
    result.failures.append((record_id, reason))
    result.counts[reason.split(":", 1)[0]] += 1
    return {"recordId": record_id, "result": FAILED, "data": raw}


def transform(records: Sequence[Mapping[str, Any]], now: datetime | None = None) -> BatchResult:
    """Firehose's records in, exactly one result per recordId out.

    `records` is the invocation's `records` list: `{"recordId", "approximateArrivalTimestamp" (epoch ms),
    "data" (base64)}`. `now` (aware) stands in for a record without an integer arrival time; default the
    current time. Returns a `BatchResult`; a bad record never raises, and whatever one record raises
    fails that record alone (if the canonical path meets it, the general path decides the whole batch).

    The canonical path decides the records it is sure of; the general path the rest, in
    order. Their duplicates cannot cross: a payload the canonical path passes on, it passes
    on wherever it recurs (its decision depends on the payload and, through the time window
    only, on the arrival, and a window the canonical path refuses the general path refuses).
    """
    memo = _BatchMemo()
    fallback_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    batch = records if isinstance(records, list) else list(records)
    result = BatchResult(records=[])
    out: list[Any] = [None] * len(batch)
    passed_on: Sequence[int] = range(len(batch))
    if _native is not None:
        try:
            out, passed_on, result.counts["duplicate"] = _native.run(
                batch, fallback_ms, memo.agents, memo.network, memo.metadata
            )
        except Exception:  # noqa: BLE001 - a fault met natively: the general path decides every record, each alone
            out, passed_on = [None] * len(batch), range(len(batch))
    seen: set[bytes] = set()
    for i in passed_on:
        out[i] = _general(batch[i], fallback_ms, seen, memo, result)
    result.records = out
    result.counts["ok"] = len(out) - len(result.failures) - result.counts["duplicate"]
    return result
