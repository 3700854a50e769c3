"""Dates and times written as text, the ways people, spreadsheets and survey tools write them.

Tried in order:

- ISO 8601 as Python reads it (`2026-11-24T10:15:00+09:00`, `…T01:15:00.000Z`): what
  ISO date cells (`t="d"`) and most exports hold;
- a year-first date, its parts separated by `-`, `/` or `.` (Korean Excel writes
  `2026. 11. 24.`) or by 년 월 일, optionally followed by a time of day: 24-hour, or 12-hour
  with 오전/오후 or AM/PM (a.m./p.m.) before or after it; then optionally a UTC offset
  (`GMT+9`, `UTC+05:30`, `+0900`, `GMT`, `Z`). Google Forms' CSV download writes
  `2026/11/20 9:05:41 오전 GMT+9` in Korean and `2026/11/20 9:05:41 AM GMT+9` in English.

Text with an offset is that instant (an aware datetime); text without one is a wall-clock
time (a naive datetime), which the caller places in the form's time zone. Day-first and
month-first dates (`20/11/2026`, `11/20/2026`) are refused: the two cannot be told apart.
So is what no clock or zone shows: an offset outside -12:00..+14:00 (the range of UTC offsets
in use, IANA tz database) or with 60 minutes or more, and a 12-hour time whose hour is not
1 to 12 (`0:05 오후`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_MERIDIEM = r"오전|오후|[ap]\.?m\.?"
_DATE_TIME = re.compile(
    rf"""
    (?P<year>\d{{4}})\s*(?P<sep>[-./])\s*(?P<month>\d{{1,2}})\s*(?P=sep)\s*(?P<day>\d{{1,2}})\.?
    (?:
        (?:\s*T\s*|\s+|(?=\s*(?:{_MERIDIEM})))
        (?:\s*(?P<before>{_MERIDIEM})\s*)?
        (?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?::(?P<second>\d{{2}})(?:[.,](?P<fraction>\d{{1,6}}))?)?
        (?:\s*(?P<after>{_MERIDIEM}))?
        (?:\s*(?P<zone>Z|(?:GMT|UTC)?\s*(?P<sign>[+-])(?P<zh>\d{{1,2}})(?::?(?P<zm>\d{{2}}))?|GMT|UTC))?
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_KOREAN_DATE = re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일")
# Real UTC offsets run from -12:00 (Baker Island) to +14:00 (Line Islands).
_OFFSETS_IN_USE = (timedelta(hours=-12), timedelta(hours=14))


class DateTimeTextError(ValueError):
    """The text is not a date and time in any form read here; the message quotes it and says why."""


def parse_datetime_text(text: str) -> datetime:
    """The date and time `text` writes: aware if it carries a UTC offset, naive otherwise.

    Raises DateTimeTextError naming the text and what is wrong with it.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        offset = moment.utcoffset()
        if offset is not None and not _in_use(offset):
            raise DateTimeTextError(f"{text!r}: {_shown(offset)} is not a UTC offset in use")
        return moment
    match = _DATE_TIME.fullmatch(_KOREAN_DATE.sub(r"\1-\2-\3", text))
    if match is None:
        raise DateTimeTextError(f"{text!r} is not a date and time (use 2026-11-24 10:15)")
    part = match.group
    hour = int(part("hour") or 0)
    meridiem = part("before") or part("after")
    if part("before") and part("after"):
        raise DateTimeTextError(f"{text!r} says 오전/오후 (AM/PM) twice")
    if meridiem:
        if not 1 <= hour <= 12:
            raise DateTimeTextError(f"{text!r}: hour {hour} with {meridiem} is not a 12-hour time (1 to 12)")
        hour = hour % 12 + (12 if meridiem == "오후" or meridiem[0] in "pP" else 0)
    zone = None
    if part("zone"):
        minutes = int(part("zm") or 0)
        offset = timedelta(hours=int(part("zh") or 0), minutes=minutes)
        offset = -offset if part("sign") == "-" else offset
        if minutes >= 60 or not _in_use(offset):
            raise DateTimeTextError(f"{text!r}: {part('zone')} is not a UTC offset in use")
        zone = timezone(offset)
    try:
        return datetime(
            int(part("year")),
            int(part("month")),
            int(part("day")),
            hour,
            int(part("minute") or 0),
            int(part("second") or 0),
            int((part("fraction") or "0").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as error:
        raise DateTimeTextError(f"{text!r} is not a date and time: {error}") from None


def _in_use(offset: timedelta) -> bool:
    """Whether a UTC offset is one clocks show: -12:00 to +14:00, in whole minutes."""
    return _OFFSETS_IN_USE[0] <= offset <= _OFFSETS_IN_USE[1] and offset % timedelta(minutes=1) == timedelta(0)


def _shown(offset: timedelta) -> str:
    sign, size = ("-", -offset) if offset < timedelta(0) else ("+", offset)
    return f"{sign}{str(size).removesuffix(':00') if size.seconds % 60 == 0 else size}"
