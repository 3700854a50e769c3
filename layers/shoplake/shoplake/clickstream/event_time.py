"""An event time as the clickstream contract reads it and as the lake stores it.

Read: ISO 8601 text with a UTC offset, as Python's `datetime.fromisoformat` reads it
(`2026-11-24T18:05:41.123+09:00`, `...Z`), or a number of epoch milliseconds. Stored: always
`business.stored_time` of the instant (`2026-11-24T09:05:41.123Z`), whatever spelling it came in,
so that Firehose's Parquet conversion (and Athena's `from_iso8601_timestamp`) read every stored time.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shoplake.business import stored_time

# Epoch milliseconds, here and in the transform's rules: `(moment - EPOCH) // MILLISECOND`.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
# ISO 8601 text is ASCII and short: the longest form datetime reads (`+HH:MM:SS.ffffff` offset, seven
# fraction digits) is well within this; anything longer, or any other script's digits, is not a time.
MAX_TEXT = 64
# The stored form exactly, ASCII digits in every place, minutes and seconds in range: such text, once its
# date and hour are real, is business.stored_time of its own instant, and is kept as sent (the form the shop
# sends, most of the time). The canonical path reads it too (its date and hour checked by BatchMemo.hour).
STORED_FORM = re.compile(r"\d{4}-\d\d-\d\dT\d\d:[0-5]\d:[0-5]\d\.\d{3}Z", re.ASCII)


def parse_event_time(value: object) -> datetime:
    """An event time as an aware UTC datetime.

    `value` is ISO 8601 text with a UTC offset (ASCII, at most `MAX_TEXT` characters) or a number of epoch
    milliseconds. Raises ValueError, saying why, for a boolean, another type, unreadable or non-ASCII text,
    text without an offset, or a time whose UTC instant lies outside datetime's range (years 1 to 9999),
    such as `0001-01-01T00:00:00+09:00`.
    """
    if isinstance(value, bool):
        raise ValueError("expected ISO-8601 with an offset, or epoch milliseconds")
    if isinstance(value, int | float):
        try:
            # Floored to the microsecond, exactly (a float's binary value, through Decimal): timedelta
            # would round 0.9995 ms up into the next millisecond, and a stored time never lies after its instant.
            micro = value * 1000 if isinstance(value, int) else math.floor(Decimal(value) * 1000)
            return EPOCH + timedelta(microseconds=micro)
        except (OverflowError, ValueError, ArithmeticError):
            raise ValueError(f"{str(value)[:40]} milliseconds is not a time") from None
    if not isinstance(value, str):
        raise ValueError("expected ISO-8601 with an offset, or epoch milliseconds")
    if len(value) > MAX_TEXT or not value.isascii():
        raise ValueError(f"{value[:40]!r} is not ISO-8601 (ASCII, at most {MAX_TEXT} characters)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not ISO-8601") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value[:40]!r} has no UTC offset")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value[:40]!r} is not a time in years 1 to 9999 in UTC") from None


def event_time_utc(value: object) -> tuple[str, int]:
    """The event time as stored (`business.stored_time`: RFC 3339 UTC, milliseconds, sub-millisecond
    digits dropped) and as whole epoch milliseconds (floored: the millisecond the stored text names).

    Text is kept as sent only when it is exactly the stored form; anything else, including text that
    merely has its shape (an ISO week date such as `2026-W48-2T05:29:58.123Z`), is stored as
    `stored_time` of the instant it names. Raises ValueError as `parse_event_time` does.
    """
    if value.__class__ is str and STORED_FORM.fullmatch(value):
        try:
            return value, (datetime.fromisoformat(value) - EPOCH) // MILLISECOND
        except ValueError:
            pass  # no such day or time: parse_event_time says so
    moment = parse_event_time(value)
    return stored_time(moment), (moment - EPOCH) // MILLISECOND
