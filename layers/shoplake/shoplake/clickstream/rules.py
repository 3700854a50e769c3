"""The clickstream contract's rules, one event at a time, naming the field that breaks one.

`normalise` is the transform's general path: it reads any decoded event, applies every rule of
`contract.FIELDS` by the field's `Source`, and returns the stored record or raises ContractError
whose message starts with the field's name. It is total: whatever else it meets on one field (a
fault of ours nobody foresaw) is raised as that field's ContractError too, never as another
exception. The canonical path (`canonical`) decides the records already in stored form, faster,
and passes everything it is not sure of here; both give the same stored record for the same
event (a property test holds them together).

What repeats across a batch (user agents, client addresses, event hours) is worked out once per
batch, in `BatchMemo`, for both paths.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from shoplake.clickstream.client_ip import client_network
from shoplake.clickstream.contract import (
    CLIENT_IP,
    CLIENT_IP_MAX_LENGTH,
    FIELD_NAMES,
    FIELDS,
    NEEDS_PRICE_AND_QUANTITY,
    NEEDS_PRODUCT,
    NEEDS_SEARCH_TERM,
    SCHEMA_VERSION,
    SENT_DEVICE_CLASS,
    DeviceClass,
    EventType,
    Source,
)
from shoplake.clickstream.event_time import EPOCH, MILLISECOND, event_time_utc

# Events older than this, or this far ahead of their arrival, go to the error path.
OLDEST = timedelta(days=7)
NEWEST = timedelta(minutes=15)
OLDEST_MS = OLDEST // MILLISECOND
NEWEST_MS = NEWEST // MILLISECOND
HOUR_MS = timedelta(hours=1) // MILLISECOND

# Plain strings, not enum members, on the hot path: enum hashing is Python code.
EVENT_TYPES = tuple(e.value for e in EventType)
NEEDS = (
    (frozenset(e.value for e in NEEDS_PRICE_AND_QUANTITY), ("price", "quantity")),
    (frozenset(e.value for e in NEEDS_PRODUCT), ("product_id",)),
    (frozenset(e.value for e in NEEDS_SEARCH_TERM), ("search_term",)),
)
OTHER_DEVICE = DeviceClass.OTHER.value
_DEVICES = frozenset(d.value for d in DeviceClass)
_BOT = re.compile(r"bot|crawl|spider|slurp|bingpreview|facebookexternalhit|headless|python-requests|curl/", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android.*mobile|windows phone", re.I)
_SHOWN = 40  # characters of a refused value quoted in its reason
REASON_LENGTH = 200  # a reason goes to the logs, record by record

_TEXT_SOURCES = (Source.TEXT, Source.LOWER, Source.CODE)
_TEXT_FIELDS = tuple(f for f in FIELDS if f.source in _TEXT_SOURCES)
_NUMBER_FIELDS = tuple(f for f in FIELDS if f.source is Source.NUMBER)
_REQUIRED_TEXT = tuple(f.name for f in _TEXT_FIELDS if f.required)


class ContractError(ValueError):
    """The record breaks the event contract; the message starts with the field's name and a colon."""


def describe(error: BaseException) -> str:
    """`str(error)`, or what it is when even that raises: a reason is always written."""
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - an exception that cannot be printed still fails only its record
        return f"<{type(error).__name__} that cannot be printed>"


def device(user_agent: str, cache: dict[str, tuple[str, bool]]) -> tuple[str, bool]:
    """`(device_class, is_bot)` for a user agent (`""` for none), remembered in `cache`."""
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
            known = (OTHER_DEVICE, False)
        cache[user_agent] = known
    return known


def truncate_ip(address: object) -> str | None:
    """The client's /24 (IPv4) or /48 (IPv6) network: where a visitor is, never who (see `client_ip`).

    `"203.0.113.7"` -> `"203.0.113.0/24"`, `"::ffff:203.0.113.77"` -> `"203.0.113.0/24"`,
    `"2001:db8:1:2::5"` -> `"2001:db8:1::/48"`; None for None, `""` and an address naming no network
    (`"::1"`: see `client_ip.client_network`). Raises ContractError naming `client_ip` for anything else:
    not text, not ASCII, longer than `CLIENT_IP_MAX_LENGTH` characters, or not an IP address.
    """
    if address is None or address == "":
        return None
    if address.__class__ is not str:
        raise ContractError(f"{CLIENT_IP}: expected text")
    assert isinstance(address, str)
    if len(address) > CLIENT_IP_MAX_LENGTH or not address.isascii():
        raise ContractError(f"{CLIENT_IP}: {address[:_SHOWN]!r} is not an IP address (ASCII, at most 64 characters)")
    try:
        return client_network(address)
    except ValueError as error:
        raise ContractError(f"{CLIENT_IP}: {error}") from None


class BatchMemo:
    """What repeats across a batch is worked out once: devices by user agent, networks by client
    address, and, by the event's hour (`YYYY-MM-DDTHH`), its first epoch millisecond and its metadata."""

    def __init__(self) -> None:
        self.agents: dict[str, tuple[str, bool]] = {}
        self.networks: dict[str, str | None] = {}
        self.hours: dict[str, tuple[int, dict[str, dict[str, str]]] | None] = {}

    def network(self, address: object) -> str | None:
        """`truncate_ip(address)`, remembered for text."""
        if address.__class__ is not str:
            return truncate_ip(address)
        assert isinstance(address, str)
        try:
            return self.networks[address]
        except KeyError:
            known = self.networks[address] = truncate_ip(address)
            return known

    def hour(self, text: str) -> tuple[int, dict[str, dict[str, str]]] | None:
        """For `YYYY-MM-DDTHH` (ASCII digits): its first epoch millisecond and the result's metadata, the
        partition keys of that hour (one shared object per hour); None if it is no real date and hour."""
        try:
            return self.hours[text]
        except KeyError:
            pass
        known: tuple[int, dict[str, dict[str, str]]] | None = None
        try:
            start = datetime.fromisoformat(text + ":00:00+00:00")
        except ValueError:
            pass
        else:
            keys = {"year": text[0:4], "month": text[5:7], "day": text[8:10], "hour": text[11:13]}
            known = ((start - EPOCH) // MILLISECOND, {"partitionKeys": keys})
        self.hours[text] = known
        return known


def _text(name: str, given: object, limit: int | None, source: Source) -> str | None:
    if given.__class__ is not str:
        if given.__class__ is not int:
            raise ContractError(f"{name}: expected text")
        given = str(given)  # ids sent as numbers are text
    assert isinstance(given, str)
    value = given.strip()
    if not value:
        return None
    if source is Source.LOWER:
        value = value.lower()
    elif source is Source.CODE:
        if len(value) != 2 or not (value.isascii() and value.isalpha()):  # ISO 3166-1 alpha-2
            raise ContractError(f"{name}: expected a two-letter ISO code, got {value[:_SHOWN]!r}")
        return value.upper()
    if limit is not None and len(value) > limit:
        raise ContractError(f"{name}: {len(value)} characters, more than {limit}")
    return value


def _number(name: str, given: object, whole: bool, minimum: float | None, maximum: float | None) -> float | int:
    ok = given.__class__ is int if whole else given.__class__ in (int, float) and _finite(given)
    low, high = minimum if minimum is not None else -math.inf, maximum if maximum is not None else math.inf
    if not ok or not low <= given <= high:  # type: ignore[operator]
        kind = "a whole number" if whole else "a number"
        span = f"from {_plain(low)} to {_plain(high)}" if maximum is not None else f"of at least {_plain(low)}"
        raise ContractError(f"{name}: expected {kind} {span}")
    return given if whole else float(given)  # type: ignore[arg-type, return-value]


def _finite(number: Any) -> bool:
    """A float's range holds it (a whole number of 400 digits does not, and is no price)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _plain(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def normalise(event: object, arrived_ms: int, memo: BatchMemo) -> dict[str, Any]:
    """The stored record for one event, or ContractError naming the field that breaks the contract.

    `event` is the decoded JSON; `arrived_ms` its arrival (epoch ms), against which `event_time` must lie
    within `OLDEST` before and `NEWEST` after. Returns the `contract.FIELDS` it has values for, in their
    order: text trimmed and within its limit, `event_type` and `category` lower-case, `country` upper-case,
    derived `device_class`, `is_bot`, `client_ip_prefix` and `schema_version`; fields outside the contract
    dropped. Absent or null optional fields stay absent: Parquet conversion stores them as NULL. Anything
    else raised while a field is read becomes that field's ContractError (`<field>: unexpected <type>: ...`).
    """
    at = ["data"]  # the field being read: the last one named
    try:
        if event.__class__ is not dict:
            raise ContractError("data: not a JSON object")
        assert isinstance(event, dict)
        return _normalise(event, arrived_ms, memo, at)
    except ContractError:
        raise
    except Exception as error:  # the safety net: a fault of ours fails this record, naming the field
        raise ContractError(
            f"{at[-1]}: unexpected {type(error).__name__}: {describe(error)}"[:REASON_LENGTH]
        ) from error


def _normalise(  # noqa: PLR0912 - one branch per rule of the contract, kept in one readable place
    event: dict[str, Any], arrived_ms: int, memo: BatchMemo, at: list[str]
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for spec in _TEXT_FIELDS:
        at.append(spec.name)
        given = event.get(spec.name)
        if given is not None:
            value = _text(spec.name, given, spec.max_length, spec.source)
            if value is not None:
                record[spec.name] = value
    for name in _REQUIRED_TEXT:
        if name not in record:
            raise ContractError(f"{name}: required")
    at.append("event_type")
    kind = event.get("event_type")
    if kind is None:
        raise ContractError("event_type: required")
    event_type = kind.strip().lower() if kind.__class__ is str and kind.isascii() else None
    if event_type not in EVENT_TYPES:
        raise ContractError(f"event_type: {str(kind)[:_SHOWN]!r} is not one of {', '.join(EVENT_TYPES)}")
    record["event_type"] = event_type
    at.append("event_time")
    try:
        event_time, moment_ms = event_time_utc(event.get("event_time"))
    except ValueError as error:
        raise ContractError(f"event_time: {error}") from None
    if not arrived_ms - OLDEST_MS <= moment_ms <= arrived_ms + NEWEST_MS:
        raise ContractError(f"event_time: {event_time} is outside the accepted window around its arrival")
    record["event_time"] = event_time
    for spec in _NUMBER_FIELDS:
        at.append(spec.name)
        given = event.get(spec.name)
        if given is not None:
            record[spec.name] = _number(spec.name, given, spec.whole, spec.minimum, spec.maximum)
    for kinds, needed in NEEDS:
        if event_type in kinds and any(name not in record for name in needed):
            raise ContractError(f"{' and '.join(needed)}: required for {event_type}")
    at.append("user_agent")
    device_class, record["is_bot"] = device(record.get("user_agent", ""), memo.agents)
    if device_class == OTHER_DEVICE:
        at.append(SENT_DEVICE_CLASS)
        sent = event.get(SENT_DEVICE_CLASS)
        if sent.__class__ is str and sent.isascii() and sent.strip().lower() in _DEVICES:
            device_class = sent.strip().lower()
            record["is_bot"] = device_class == DeviceClass.BOT.value  # one answer: a bot is a bot in both columns
    record["device_class"] = device_class
    at.append(CLIENT_IP)
    network = memo.network(event.get(CLIENT_IP))
    if network is not None:
        record["client_ip_prefix"] = network
    record["schema_version"] = SCHEMA_VERSION
    return {name: record[name] for name in FIELD_NAMES if name in record}
