"""The clickstream event contract: what the shop sends, and what the lake stores.

Declared once, here: each stored field says how it is read from the event (`Source`), its Glue type,
whether it is required and its longest text. The transform's rules (`rules`) and its msgspec
validator (`canonical`, generated from `FIELDS`) read it; the local Firehose writes Parquet with
its schema; template.yaml's Glue table (which Firehose's Parquet conversion reads) must list the
same columns (a test holds them together).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyarrow is not in the transform's package: only the Parquet writers import it
    import pyarrow as pa

# The event types are a business fact; the contract takes them from there (and re-exports them).
from shoplake.business import EventType as EventType  # noqa: PLC0414 - the explicit re-export mypy --strict reads

SCHEMA_VERSION = 1


class DeviceClass(StrEnum):
    """The stored `device_class`: worked out from the user agent, or the event's own when the agent says nothing."""

    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"
    OTHER = "other"


# Cart and purchase events must say what and how many; product views what.
NEEDS_PRODUCT = frozenset(
    {EventType.PRODUCT_VIEW, EventType.ADD_TO_CART, EventType.REMOVE_FROM_CART, EventType.PURCHASE}
)
NEEDS_PRICE_AND_QUANTITY = frozenset({EventType.ADD_TO_CART, EventType.REMOVE_FROM_CART, EventType.PURCHASE})
NEEDS_SEARCH_TERM = frozenset({EventType.SEARCH})


class Source(StrEnum):
    """How a stored field is read from the event the shop sends (the field of the same name)."""

    TEXT = "text"  # JSON text (a whole JSON number is read as its digits), trimmed; empty text is absent
    LOWER = "lower"  # TEXT, stored lower-cased (its stored length is what counts)
    CODE = "code"  # TEXT of exactly two ASCII letters, stored upper-cased (ISO 3166-1 alpha-2)
    EVENT_TYPE = "event_type"  # TEXT naming an EventType, any ASCII case
    EVENT_TIME = "event_time"  # ISO 8601 text with a UTC offset, or epoch milliseconds (see event_time)
    NUMBER = "number"  # a JSON number from `minimum` to `maximum`; a whole one for an integer column
    DERIVED = "derived"  # worked out by the transform; a value the event sends under this name is ignored


# The Glue (Hive) types of whole numbers.
_WHOLE_TYPES = frozenset({"int", "smallint", "bigint"})


@dataclass(frozen=True)
class Field:
    """One stored column: its name, Glue (Hive) type, whether it is required, its longest text, its source.

    `glue` is the one declared type (the Glue table's, which Firehose's Parquet conversion reads); the
    Arrow type follows from it (`arrow_schema`). `max_length` is in characters (Python `len`), None for no
    limit or no text. `minimum` and `maximum` bound a NUMBER (None: unbounded on that side).
    """

    name: str
    glue: str
    required: bool
    max_length: int | None = None
    source: Source = Source.TEXT
    minimum: float | None = None
    maximum: float | None = None

    @property
    def whole(self) -> bool:
        """Whether the Glue type is a whole-number one (`int`, `smallint`, `bigint`): such a NUMBER takes
        a JSON integer only, never a fraction."""
        return self.glue in _WHOLE_TYPES


# The stored record, in column order. `client_ip_prefix` (a /24 or /48 network) replaces the
# client IP, which is never stored whole.
# The Parquet column `quantity` is a 32-bit integer.
MAX_QUANTITY = 2**31 - 1
FIELDS: tuple[Field, ...] = (
    Field("event_id", "string", True, 64),
    Field("event_time", "timestamp", True, source=Source.EVENT_TIME),
    Field("event_type", "string", True, source=Source.EVENT_TYPE),
    Field("session_id", "string", True, 64),
    Field("user_id", "string", False, 64),
    Field("page", "string", False, 2048),
    Field("referrer", "string", False, 2048),
    Field("product_id", "string", False, 64),
    Field("category", "string", False, 64, Source.LOWER),
    Field("search_term", "string", False, 256),
    Field("price", "double", False, source=Source.NUMBER, minimum=0),
    Field("quantity", "int", False, source=Source.NUMBER, minimum=1, maximum=MAX_QUANTITY),
    Field("user_agent", "string", False, 1024),
    Field("client_ip_prefix", "string", False, source=Source.DERIVED),  # from client_ip (see client_ip.py)
    Field("country", "string", False, 2, Source.CODE),
    Field("device_class", "string", True, source=Source.DERIVED),  # from user_agent, else the event's own
    Field("is_bot", "boolean", True, source=Source.DERIVED),  # from user_agent
    Field("schema_version", "smallint", True, source=Source.DERIVED),  # SCHEMA_VERSION
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
# What the event sends that is read but never stored: the client's address, of which only its network
# (`client_ip_prefix`) is kept, and the event's own device class, used when the user agent says nothing.
# Text, at most this many characters: the longest IPv6 address with a zone or brackets fits well within it.
CLIENT_IP = "client_ip"
CLIENT_IP_MAX_LENGTH = 64
SENT_DEVICE_CLASS = "device_class"
# Every field of the event the transform reads: those stored as read, then the read-only ones.
READ_FIELDS = (*(f.name for f in FIELDS if f.source is not Source.DERIVED), CLIENT_IP, SENT_DEVICE_CLASS)
PARTITION_KEYS = ("year", "month", "day", "hour")


def arrow_schema() -> pa.Schema:
    """The stored record as an Arrow schema, in `FIELDS` order; required fields are non-nullable.

    `event_time` is `timestamp[ms, tz=UTC]`; the hour partition keys are not columns.
    """
    import pyarrow as pa  # noqa: PLC0415 - the Lambda transform needs the contract, not pyarrow

    arrow_types = {
        "string": pa.string(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "double": pa.float64(),
        "int": pa.int32(),
        "boolean": pa.bool_(),
        "smallint": pa.int16(),
    }
    return pa.schema([pa.field(f.name, arrow_types[f.glue], nullable=not f.required) for f in FIELDS])


def glue_columns() -> list[dict[str, str]]:
    """`[{"Name": ..., "Type": ...}]` in `FIELDS` order: the Glue table Firehose's Parquet conversion reads."""
    return [{"Name": f.name, "Type": f.glue} for f in FIELDS]
