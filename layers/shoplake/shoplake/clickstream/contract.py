"""The clickstream event contract: what the shop sends, and what the lake stores.

Declared once: the transform validates against it, the local Firehose writes Parquet with
its schema, and template.yaml's Glue table (which Firehose's Parquet conversion reads)
must list the same columns (a test holds them together).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


@dataclass(frozen=True)
class Field:
    """One stored column: its name, Arrow and Glue (Hive) types, whether it is required, its longest text.

    `max_length` is in characters (Python `len`), None for no limit or no text.
    """

    name: str
    arrow: pa.DataType
    glue: str
    required: bool
    max_length: int | None = None


# The stored record, in column order. `client_ip_prefix` (a /24 or /48 network) replaces the
# client IP, which is never stored whole.
FIELDS: tuple[Field, ...] = (
    Field("event_id", pa.string(), "string", True, 64),
    Field("event_time", pa.timestamp("ms", tz="UTC"), "timestamp", True),
    Field("event_type", pa.string(), "string", True),
    Field("session_id", pa.string(), "string", True, 64),
    Field("user_id", pa.string(), "string", False, 64),
    Field("page", pa.string(), "string", False, 2048),
    Field("referrer", pa.string(), "string", False, 2048),
    Field("product_id", pa.string(), "string", False, 64),
    Field("category", pa.string(), "string", False, 64),
    Field("search_term", pa.string(), "string", False, 256),
    Field("price", pa.float64(), "double", False),
    Field("quantity", pa.int32(), "int", False),
    Field("user_agent", pa.string(), "string", False, 1024),
    Field("client_ip_prefix", pa.string(), "string", False),
    Field("country", pa.string(), "string", False, 2),
    Field("device_class", pa.string(), "string", True),
    Field("is_bot", pa.bool_(), "boolean", True),
    Field("schema_version", pa.int16(), "smallint", True),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
PARTITION_KEYS = ("year", "month", "day", "hour")


def arrow_schema() -> pa.Schema:
    """The stored record as an Arrow schema, in `FIELDS` order; required fields are non-nullable.

    `event_time` is `timestamp[ms, tz=UTC]`; the hour partition keys are not columns.
    """
    return pa.schema([pa.field(f.name, f.arrow, nullable=not f.required) for f in FIELDS])


def glue_columns() -> list[dict[str, str]]:
    """`[{"Name": ..., "Type": ...}]` in `FIELDS` order: the Glue table Firehose's Parquet conversion reads."""
    return [{"Name": f.name, "Type": f.glue} for f in FIELDS]
