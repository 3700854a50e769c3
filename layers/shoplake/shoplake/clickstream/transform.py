"""Firehose record transformation for the clickstream: validate, normalise, partition.

One result per recordId, always: `Ok` with the normalised record as one JSON line and its
partition keys (the event's own UTC hour), `Dropped` for an exact duplicate within the
batch, `ProcessingFailed` with a reason naming the field for anything that breaks the contract
(or for a fault of ours met on that record). A bad record never raises, nor fails its neighbours,
so Firehose never retries a whole batch for what one record holds.

How a record is decided. Its `data` is base64-decoded (pybase64) and must be UTF-8. Then:
- the canonical path (`canonical`): one msgspec decode into a Struct generated from the contract,
  a few checks, the Struct encoded as the stored line. Most records, sent exactly as the shop's
  producer writes them, end here.
- the general path (`rules.normalise`): everything the canonical path is not sure of. The event's
  fields are read one by one (msgspec, `Raw` per field), so a value that cannot be read (a number
  past 64 bits and a float's range, say) fails naming its field, and every rule names the field.
Both read the same JSON the same way: unknown fields are skipped unread by one parser, and the
last of a repeated key counts. Both write the same bytes for the same stored record.

The record formats are Firehose's: "Required parameters for data transformation"
(https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html) and partition
keys from Lambda ("Understand partitioning keys", dynamic-partitioning-partitioning-keys); `data` is
base64 (RFC 4648, section 4) of UTF-8 JSON (RFC 8259). See tests/events/FIREHOSE_RESPONSE_CONTRACT.md.
"""

from __future__ import annotations

import binascii
import gc
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import pybase64

from shoplake.clickstream import canonical
from shoplake.clickstream.contract import READ_FIELDS
from shoplake.clickstream.rules import (
    NEWEST,
    OLDEST,
    REASON_LENGTH,
    BatchMemo,
    ContractError,
    describe,
    normalise,
    truncate_ip,
)

__all__ = ["DROPPED", "FAILED", "NEWEST", "OK", "OLDEST", "BatchResult", "ContractError", "normalise", "transform"]
__all__ += ["truncate_ip"]

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"


@dataclass
class BatchResult:
    """One batch's outcome: Firehose's result records, and what went wrong, for logs and metrics.

    `records` holds one `{"recordId", "result", "data"}` per input record, in input order: `Ok` records
    carry the stored JSON line in base64 and `"metadata": {"partitionKeys": {"year", "month", "day",
    "hour"}}` (the event's UTC hour, zero-padded text); `Dropped` and `ProcessingFailed` ones carry the
    input `data` unchanged. `failures` lists (recordId, reason starting with the field's name and a
    colon); `counts` counts `ok`, `duplicate`, and failures by the field their reason names.
    """

    records: list[dict[str, Any]]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (recordId, reason)
    counts: Counter[str] = field(default_factory=Counter)

    def response(self) -> dict[str, Any]:
        """What the Lambda function returns to Firehose: `{"records": [...]}`."""
        return {"records": self.records}


# The general path reads the fields of the contract and nothing else, each as raw JSON.
_Fields = msgspec.defstruct("Fields", [(name, msgspec.Raw, msgspec.UNSET) for name in READ_FIELDS], kw_only=True)
_read_fields = msgspec.json.Decoder(_Fields).decode
_read_value = msgspec.json.Decoder().decode
_BOM = b"\xef\xbb\xbf"
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace (RFC 8259, section 2)
_DUPLICATE: canonical.Decided = ("", {})  # an exact repeat of a record stored earlier in the batch


def _not_json(payload: bytes, error: Exception) -> ContractError:  # noqa: PLR0911 - one answer per kind of damage
    """Why `payload` (valid UTF-8) is not one JSON object, in the words of the person who must fix it.

    Linear in the payload: the standard library's decoder reads at most its first value and the start
    of a second (a record of several documents), only once msgspec has refused it.
    """
    if payload.startswith(_BOM):
        return ContractError("data: starts with a byte order mark; JSON text has none (RFC 8259, section 8.1)")
    if isinstance(error, RecursionError):
        return ContractError("data: not JSON this transform reads: nested too deeply")
    if isinstance(error, msgspec.ValidationError):  # the only one _read_fields raises: the top level
        return ContractError("data: not a JSON object")
    text = payload.decode()
    decoder = json.JSONDecoder()
    try:
        first, end = decoder.raw_decode(text, _SPACE.match(text).end())  # type: ignore[union-attr]
    except (ValueError, RecursionError):
        return ContractError(f"data: not JSON ({describe(error)[:80]})")
    second = _SPACE.match(text, end).end()  # type: ignore[union-attr]
    if second < len(text):
        try:
            decoder.raw_decode(text, second)
        except (ValueError, RecursionError):
            return ContractError(f"data: not JSON (characters after the JSON value, at character {second})")
        return ContractError(
            f"data: several JSON documents in one record (the second at character {second}); send one event per record"
        )
    # The standard library reads it whole, msgspec does not: a lone UTF-16 surrogate escape (RFC 8259,
    # section 8.2), which names no character. Name the field that holds it.
    if isinstance(first, dict):
        for name, value in first.items():
            try:
                json.dumps([name, value], ensure_ascii=False).encode()
            except UnicodeEncodeError:
                return ContractError(f"{name[:40]}: a lone UTF-16 surrogate escape, which is no character")
            except (ValueError, RecursionError):
                continue
    return ContractError(f"data: not JSON ({describe(error)[:80]})")


def _event(payload: bytes) -> dict[str, Any]:
    """The contract's fields of one record, decoded; ContractError naming the field or `data`."""
    if not payload.isascii():
        try:
            payload.decode()
        except UnicodeDecodeError as error:
            raise ContractError(f"data: not UTF-8 (byte {error.start})") from None
    try:
        fields = _read_fields(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
        raise _not_json(payload, error) from None
    event: dict[str, Any] = {}
    for name in READ_FIELDS:
        raw = getattr(fields, name)
        if raw is not msgspec.UNSET:
            try:
                event[name] = _read_value(raw)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
                message = "nested too deeply" if isinstance(error, RecursionError) else describe(error).split(" - ")[0]
                raise ContractError(f"{name}: not a value this transform reads ({message})") from None
    return event


def _stored_line(record: dict[str, Any]) -> str:
    return pybase64.b64encode_as_string(msgspec.json.encode(record) + b"\n")


def _general(item: object, fallback_ms: int, seen: set[bytes], memo: BatchMemo, result: BatchResult) -> dict[str, Any]:
    """One record's result by the general path, its failure or duplicate counted in result.

    A record that breaks the contract fails with the reason naming the field. One that raises anything
    else while it is decided (a fault of ours, not yet met) fails too, naming where: one record never
    takes its batch down with it.
    """
    record_id, raw = "", ""
    where = "recordId"
    try:
        if not isinstance(item, Mapping):
            raise ContractError("record: not a Firehose record (an object with recordId and data)")
        record_id = str(item.get("recordId", ""))
        where = "data"
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
        stored = normalise(_event(payload), arrived_ms, memo)
        hour = memo.hour(stored["event_time"][:13])
        assert hour is not None  # a stored time is a real one
        answer = {"recordId": record_id, "result": OK, "data": _stored_line(stored), "metadata": hour[1]}
    except ContractError as error:
        reason = describe(error)[:REASON_LENGTH]
    except Exception as error:  # noqa: BLE001 - the safety net: whatever one record raises fails that record alone
        reason = f"{where}: unexpected {type(error).__name__}: {describe(error)}"[:REASON_LENGTH]
    else:
        seen.add(payload)  # only once it is stored: the duplicate of a record that failed fails the same way
        return answer
    result.failures.append((record_id, reason))
    result.counts[reason.split(":", 1)[0]] += 1
    return {"recordId": record_id, "result": FAILED, "data": raw}


def transform(records: Sequence[Mapping[str, Any]], now: datetime | None = None) -> BatchResult:
    """Firehose's records in, exactly one result per recordId out, in order.

    `records` is the invocation's `records` list: `{"recordId", "approximateArrivalTimestamp" (epoch ms),
    "data" (base64)}`. `now` (aware) stands in for a record without an integer arrival time; default the
    current time. Returns a `BatchResult`; it raises nothing for anything a record holds.
    """
    memo = BatchMemo()
    decide = canonical.decider(memo)
    fallback_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    result = BatchResult(records=[])
    out = result.records
    seen: set[bytes] = set()
    # The batch makes thousands of small objects and no cycles: the cyclic collector's passes over the
    # growing results would find nothing, so it waits until the batch is answered.
    collecting = gc.isenabled()
    gc.disable()
    try:
        b64decode, append = pybase64.b64decode, out.append
        for item in records:
            try:
                record_id, raw = item["recordId"], item["data"]
                arrival = item["approximateArrivalTimestamp"]
                payload = b64decode(raw, validate=True)
                decided = None
                if record_id.__class__ is not str:
                    pass
                elif payload in seen:
                    decided = _DUPLICATE
                elif payload.isascii() or _utf8(payload):
                    decided = decide(payload, arrival if arrival.__class__ is int else fallback_ms)
            except Exception:  # noqa: BLE001 - anything unusual is the general path's to decide and explain
                decided = None
            if decided is None:
                append(_general(item, fallback_ms, seen, memo, result))
            elif decided is _DUPLICATE:
                result.counts["duplicate"] += 1
                append({"recordId": record_id, "result": DROPPED, "data": raw})
            else:
                seen.add(payload)
                append({"recordId": record_id, "result": OK, "data": decided[0], "metadata": decided[1]})
    finally:
        if collecting:
            gc.enable()
    result.counts["ok"] = len(out) - len(result.failures) - result.counts["duplicate"]
    return result


def _utf8(payload: bytes) -> bool:
    try:
        payload.decode()
    except UnicodeDecodeError:
        return False
    return True
