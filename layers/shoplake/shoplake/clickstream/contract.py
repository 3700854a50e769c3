"""The clickstream event contract: what the shop sends, and what the lake stores.

Declared once: the transform validates against it, the local Firehose writes Parquet with
its schema, and template.yaml's Glue table (which Firehose's Parquet conversion reads)
must list the same columns (a test holds them together).
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


@dataclass(frozen=True)
class Field:
    """One stored column: its name, Glue (Hive) type, whether it is required, its longest text.

    `glue` is the one declared type (the Glue table's, which Firehose's Parquet conversion reads); the
    Arrow type follows from it (`arrow_schema`). `max_length` is in characters (Python `len`), None for no
    limit or no text.
    """

    name: str
    glue: str
    required: bool
    max_length: int | None = None


# The stored record, in column order. `client_ip_prefix` (a /24 or /48 network) replaces the
# client IP, which is never stored whole.
FIELDS: tuple[Field, ...] = (
    Field("event_id", "string", True, 64),
    Field("event_time", "timestamp", True),
    Field("event_type", "string", True),
    Field("session_id", "string", True, 64),
    Field("user_id", "string", False, 64),
    Field("page", "string", False, 2048),
    Field("referrer", "string", False, 2048),
    Field("product_id", "string", False, 64),
    Field("category", "string", False, 64),
    Field("search_term", "string", False, 256),
    Field("price", "double", False),
    Field("quantity", "int", False),
    Field("user_agent", "string", False, 1024),
    Field("client_ip_prefix", "string", False),
    Field("country", "string", False, 2),
    Field("device_class", "string", True),
    Field("is_bot", "boolean", True),
    Field("schema_version", "smallint", True),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
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
