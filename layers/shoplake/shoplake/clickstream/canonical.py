"""The canonical path: events already in stored form, decided in one msgspec decode each.

Most records arrive exactly as the shop's producer writes them: text trimmed, enumerations
lower-case, the time in the stored form (`2026-11-24T05:29:58.123Z`), numbers of the right kind.
For those, `Event` (a msgspec Struct generated from `contract.FIELDS`: each field's type, text
limit, enumeration and bounds) does the checking in C while it decodes, and a few lines of Python
do what a type cannot say (trimmed, lower-case, the time window, what one event type needs).
The decoded Struct is then the stored record: the derived fields are set on it and it is encoded
as it is, in the contract's order, into one buffer reused for the batch.

Whatever it is not certain about, it passes on (None) to the general path (`rules.normalise`),
which applies every rule and names the field that breaks one: this path never fails a record.
Both give the same stored record for the same event; a property test holds them together.

msgspec: https://jcristharif.com/msgspec/ (Structs, `Meta` constraints, `omit_defaults`,
`Encoder.encode_into`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
import pybase64

from shoplake.clickstream.contract import (
    CLIENT_IP,
    FIELDS,
    SCHEMA_VERSION,
    SENT_DEVICE_CLASS,
    Field,
    Source,
)
from shoplake.clickstream.event_time import STORED_FORM
from shoplake.clickstream.rules import (
    EVENT_TYPES,
    HOUR_MS,
    NEEDS,
    NEWEST_MS,
    OLDEST_MS,
    OTHER_DEVICE,
    BatchMemo,
    ContractError,
    device,
)


def _canonical_type(spec: Field) -> Any:
    """The type a field has in an event in stored form (msgspec checks it while decoding)."""
    if spec.source in (Source.TEXT, Source.LOWER):
        return Annotated[str, msgspec.Meta(max_length=spec.max_length)] | None
    if spec.source is Source.CODE:
        return Annotated[str, msgspec.Meta(min_length=spec.max_length, max_length=spec.max_length)] | None
    if spec.source is Source.EVENT_TYPE:
        return Literal[EVENT_TYPES] | None  # lower-case exactly: other spellings are the general path's
    if spec.source is Source.EVENT_TIME:
        return str | None  # the stored form, checked below; epoch milliseconds are the general path's
    if spec.source is Source.NUMBER:
        number = int if spec.whole else float
        return Annotated[number, msgspec.Meta(ge=spec.minimum, le=spec.maximum)] | None
    return Any  # DERIVED: whatever the event sends under the name is replaced


def _event_struct() -> type[msgspec.Struct]:
    """`Event`: the stored record's fields in the contract's order, then the client's address.

    Every field defaults to None and `omit_defaults` leaves None out, so the encoded Struct is the
    stored record: an absent optional field stays absent (NULL in Parquet), and `client_ip`, set to
    None once its network is known, is never stored. `gc=False`: decoded JSON holds no cycles.
    """
    fields = [(f.name, _canonical_type(f), None) for f in FIELDS]
    fields.append((CLIENT_IP, str | None, None))
    return msgspec.defstruct("Event", fields, kw_only=True, omit_defaults=True, gc=False)


Event = _event_struct()
_decode = msgspec.json.Decoder(Event).decode
_encode_into = msgspec.json.Encoder().encode_into
_astuple = msgspec.structs.astuple
_UNKNOWN = object()

# One decided record: its stored JSON line in base64, and its metadata (the hour's partition keys).
Decided = tuple[str, dict[str, dict[str, str]]]

# The checks a type cannot say, per source, as Python source: `v` is the field's decoded value.
# CPython's str.strip gives back the very object when there is nothing to strip; were it ever to
# copy, every record would go to the general path: slower, never wrong.
_TRIMMED = "(not v or v.strip() is not v)"
_BREAKS = {
    Source.TEXT: _TRIMMED,
    Source.LOWER: f"({_TRIMMED[1:-1]} or v.lower() != v)",
    Source.CODE: "not (v.isascii() and v.isalpha() and v.isupper())",  # its length is the type's
    Source.EVENT_TYPE: "",  # a Literal of the lower-case values: the type says it all
    Source.EVENT_TIME: "not _STORED_TIME(v)",
    Source.NUMBER: "",  # kind and bounds are the type's
}
_NOTHING = ""


def _checks() -> str:
    """`decide`'s per-field checks, one `if` per field read from the event, in the contract's order."""
    lines = []
    for spec in FIELDS:
        breaks = _BREAKS.get(spec.source)  # None: DERIVED, set below
        if breaks is None or (breaks == _NOTHING and not spec.required):
            continue
        if breaks == _NOTHING:
            test = "v is None"
        else:
            test = f"v is None or {breaks}" if spec.required else f"v is not None and {breaks}"
        lines += [f"        v = event.{spec.name}", f"        if {test}:", "            return None"]
    for kinds, names in NEEDS:
        missing = " or ".join(f"event.{name} is None" for name in names)
        kinds_set = "{" + ", ".join(repr(kind) for kind in sorted(kinds)) + "}"
        lines += [f"        if event.event_type in {kinds_set} and ({missing}):", "            return None"]
    return "\n".join(lines)


# `decider`'s source: the checks above generated from the contract, then what every record needs (its
# hour and the time window, its device, its network) and the stored line.
SOURCE = f"""
def decider(memo):
    agents, networks, hours = memo.agents, memo.networks, memo.hours
    buffer = bytearray()
    encode = _b64encode

    def decide(payload, arrived_ms):
        try:
            event = _decode(payload)
        except (_DecodeError, _ValidationError, RecursionError):
            return None
{_checks()}
        hour_text = event.event_time[:13]
        hour = hours.get(hour_text, _UNKNOWN)
        if hour is _UNKNOWN:
            hour = memo.hour(hour_text)
        if hour is None:
            return None
        start, metadata = hour
        if start < arrived_ms - OLDEST_MS or start + HOUR_MS - 1 > arrived_ms + NEWEST_MS:
            # The window cuts through this hour (the newest events' hour, most of the time): to the millisecond.
            event_time = event.event_time
            moment = start + int(event_time[14:16]) * 60000 + int(event_time[17:19]) * 1000 + int(event_time[20:23])
            if not arrived_ms - OLDEST_MS <= moment <= arrived_ms + NEWEST_MS:
                return None
        user_agent = event.user_agent
        kind = agents.get(user_agent) if user_agent is not None else None
        if kind is None:
            kind = device(user_agent or "", agents)
        if kind[0] == OTHER_DEVICE and event.{SENT_DEVICE_CLASS} is not None:
            return None  # the event's own device class counts: the general path reads it
        address = event.{CLIENT_IP}
        network = None
        if address is not None:
            network = networks.get(address, _UNKNOWN)
            if network is _UNKNOWN:
                try:
                    network = memo.network(address)
                except ContractError:
                    return None
        event.client_ip_prefix, event.{CLIENT_IP} = network, None
        event.device_class, event.is_bot = kind
        event.schema_version = SCHEMA_VERSION
        _encode_into(event, buffer)
        buffer.append(0x0A)  # one JSON line
        return encode(buffer), metadata

    return decide
"""


def _compile() -> Callable[[BatchMemo], Callable[[bytes, int], Decided | None]]:
    namespace: dict[str, Any] = {
        "_decode": _decode,
        "_encode_into": _encode_into,
        "_b64encode": pybase64.b64encode_as_string,
        "_DecodeError": msgspec.DecodeError,
        "_ValidationError": msgspec.ValidationError,
        "_STORED_TIME": STORED_FORM.fullmatch,
        "_UNKNOWN": _UNKNOWN,
        "OLDEST_MS": OLDEST_MS,
        "NEWEST_MS": NEWEST_MS,
        "HOUR_MS": HOUR_MS,
        "OTHER_DEVICE": OTHER_DEVICE,
        "SCHEMA_VERSION": SCHEMA_VERSION,
        "ContractError": ContractError,
        "device": device,
    }
    exec(compile(SOURCE, f"<{__name__}.SOURCE>", "exec"), namespace)  # noqa: S102 - our own source, from the contract
    return namespace["decider"]  # type: ignore[no-any-return]


decider = _compile()
decider.__doc__ = """The canonical path for one batch: `decider(memo)` -> `decide(payload, arrived_ms)`, which gives
`(line, metadata)` or None.

`payload` is the record's decoded bytes; `arrived_ms` its arrival in epoch milliseconds. `line` is base64
of the stored record as one JSON line; `metadata` is `{"partitionKeys": {"year", "month", "day", "hour"}}`
of the event's UTC hour. None: not certain, ask `rules.normalise`. Raises nothing but what our own code
might (a fault of ours): the caller passes such a record on too. Its source is `SOURCE`.
"""
