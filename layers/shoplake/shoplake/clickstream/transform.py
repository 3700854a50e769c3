"""Firehose record transformation for the clickstream: validate, normalise, partition.

One result per recordId, always: `Ok` with the normalised record as one JSON line and its
partition keys (the event's own UTC hour), `Dropped` for an exact duplicate within the
batch, `ProcessingFailed` with the reason for anything that breaks the contract. A bad
record never raises. Speed matters (Lambda bills by the millisecond per batch): orjson and
binascii do the coding, and what repeats across records (user agents) is worked out once.
"""

from __future__ import annotations

import binascii
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shoplake.clickstream.contract import (
    FIELDS,
    NEEDS_PRICE_AND_QUANTITY,
    NEEDS_PRODUCT,
    NEEDS_SEARCH_TERM,
    SCHEMA_VERSION,
    DeviceClass,
    EventType,
)

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
# Events older than this, or this far ahead of their arrival, go to the error path.
OLDEST = timedelta(days=7)
NEWEST = timedelta(minutes=15)

_EVENT_TYPES = {e.value: e for e in EventType}
_DEVICES = {d.value for d in DeviceClass}
_BOT = re.compile(r"bot|crawl|spider|slurp|bingpreview|facebookexternalhit|headless|python-requests|curl/", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android.*mobile|windows phone", re.I)
_OPTIONAL_TEXT = tuple(
    (f.name, f.max_length) for f in FIELDS
    if f.arrow.equals(FIELDS[0].arrow) and not f.required and f.name not in ("client_ip_prefix", "country")
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ContractError(ValueError):
    """The record breaks the event contract; the message names the field."""


@dataclass
class BatchResult:
    records: list[dict[str, Any]]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (recordId, reason)
    counts: Counter[str] = field(default_factory=Counter)

    def response(self) -> dict[str, Any]:
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
    """The client's /24 (IPv4) or /48 (IPv6) network: where a visitor is, never who."""
    if address is None or address == "":
        return None
    if not isinstance(address, str):
        raise ContractError("client_ip: expected text")
    parts = address.strip().split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"
    if ":" in address:
        import ipaddress  # noqa: PLC0415 - rare: most traffic is IPv4

        try:
            network = ipaddress.IPv6Network(f"{address.strip()}/48", strict=False)
        except ValueError:
            raise ContractError(f"client_ip: {address[:45]!r} is not an IP address") from None
        return str(network)
    raise ContractError(f"client_ip: {address[:45]!r} is not an IP address")


def parse_event_time(value: object) -> datetime:
    if isinstance(value, bool):
        raise ContractError("event_time: expected ISO-8601 with an offset, or epoch milliseconds")
    if isinstance(value, int | float):
        return _EPOCH + timedelta(milliseconds=value)
    if not isinstance(value, str):
        raise ContractError("event_time: expected ISO-8601 with an offset, or epoch milliseconds")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ContractError(f"event_time: {value[:40]!r} is not ISO-8601") from None
    if moment.tzinfo is None:
        raise ContractError(f"event_time: {value[:40]!r} has no UTC offset")
    return moment.astimezone(UTC)


def _text(event: Mapping[str, Any], name: str, limit: int | None, required: bool) -> str | None:
    value = event.get(name)
    if value is None:
        if required:
            raise ContractError(f"{name}: required")
        return None
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # ids sent as numbers
        else:
            raise ContractError(f"{name}: expected text")
    value = value.strip()
    if not value:
        if required:
            raise ContractError(f"{name}: required")
        return None
    if limit is not None and len(value) > limit:
        raise ContractError(f"{name}: {len(value)} characters, more than {limit}")
    return value


def normalise(event: object, arrived: datetime, agents: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    """The stored record for one event, or ContractError naming the field that breaks the contract."""
    if not isinstance(event, dict):
        raise ContractError("the record is not a JSON object")
    kind = event.get("event_type")
    if kind is None:
        raise ContractError("event_type: required")
    event_type = _EVENT_TYPES.get(kind.strip().lower()) if isinstance(kind, str) else None
    if event_type is None:
        raise ContractError(f"event_type: {str(kind)[:40]!r} is not one of {', '.join(_EVENT_TYPES)}")
    moment = parse_event_time(event.get("event_time"))
    if moment < arrived - OLDEST or moment > arrived + NEWEST:
        raise ContractError(f"event_time: {moment.isoformat()} is outside the accepted window around its arrival")
    record: dict[str, Any] = {
        "event_id": _text(event, "event_id", 64, True),
        "event_time": moment,
        "event_type": event_type.value,
        "session_id": _text(event, "session_id", 64, True),
    }
    for name, limit in _OPTIONAL_TEXT:
        record[name] = _text(event, name, limit, False)
    if record["category"] is not None:
        record["category"] = record["category"].lower()
    price, quantity = event.get("price"), event.get("quantity")
    if price is not None and (isinstance(price, bool) or not isinstance(price, int | float) or price < 0):
        raise ContractError("price: expected a number of at least 0")
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1):
        raise ContractError("quantity: expected a whole number of at least 1")
    if event_type in NEEDS_PRICE_AND_QUANTITY and (price is None or quantity is None):
        raise ContractError(f"price and quantity: required for {event_type.value}")
    if event_type in NEEDS_PRODUCT and record["product_id"] is None:
        raise ContractError(f"product_id: required for {event_type.value}")
    if event_type in NEEDS_SEARCH_TERM and record["search_term"] is None:
        raise ContractError("search_term: required for search")
    record["price"] = float(price) if price is not None else None
    record["quantity"] = quantity
    user_agent = record["user_agent"] or ""
    device, is_bot = _device(user_agent, agents)
    if device == DeviceClass.OTHER.value:
        sent = event.get("device_class")
        device = sent.strip().lower() if isinstance(sent, str) and sent.strip().lower() in _DEVICES else device
    record["device_class"], record["is_bot"] = device, is_bot
    record["client_ip_prefix"] = truncate_ip(event.get("client_ip"))
    country = event.get("country")
    if country is not None:
        if not isinstance(country, str) or len(country.strip()) != 2 or not country.strip().isalpha():
            raise ContractError("country: expected a two-letter ISO code")
        country = country.strip().upper()
    record["country"] = country
    record["schema_version"] = SCHEMA_VERSION
    return record


def _partition_keys(moment: datetime) -> dict[str, str]:
    return {
        "year": f"{moment.year:04d}",
        "month": f"{moment.month:02d}",
        "day": f"{moment.day:02d}",
        "hour": f"{moment.hour:02d}",
    }


def transform(records: Sequence[Mapping[str, Any]], now: datetime | None = None) -> BatchResult:
    """Firehose's records in, exactly one result per recordId out."""
    result = BatchResult(records=[])
    seen: set[bytes] = set()
    agents: dict[str, tuple[str, bool]] = {}
    fallback_arrival = now or datetime.now(UTC)
    for item in records:
        record_id = str(item.get("recordId", ""))
        raw = item.get("data") or ""
        try:
            try:
                payload = binascii.a2b_base64(raw, strict_mode=True)
            except (binascii.Error, TypeError, ValueError):
                raise ContractError("data: not base64") from None
            if payload in seen:
                result.records.append({"recordId": record_id, "result": DROPPED, "data": raw})
                result.counts["duplicate"] += 1
                continue
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise ContractError("the record is not JSON") from None
            arrival = item.get("approximateArrivalTimestamp")
            arrived = _EPOCH + timedelta(milliseconds=arrival) if isinstance(arrival, int | float) else fallback_arrival
            stored = normalise(event, arrived, agents)
        except ContractError as error:
            reason = str(error)
            result.records.append({"recordId": record_id, "result": FAILED, "data": raw})
            result.failures.append((record_id, reason))
            result.counts[reason.split(":", 1)[0]] += 1
            continue
        seen.add(payload)
        moment = stored["event_time"]
        # Milliseconds, as the table stores them: Parquet conversion reads exactly this form.
        stored["event_time"] = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
        )
        line = orjson.dumps(stored, option=orjson.OPT_APPEND_NEWLINE)
        result.records.append(
            {
                "recordId": record_id,
                "result": OK,
                "data": binascii.b2a_base64(line, newline=False).decode("ascii"),
                "metadata": {"partitionKeys": _partition_keys(moment)},
            }
        )
        result.counts["ok"] += 1
    return result
