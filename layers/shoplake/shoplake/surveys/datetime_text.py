"""Dates and times written as text, the ways people, spreadsheets and survey tools write them.

What the tools staff use write (a cell typed as a date in Excel arrives as a date, not as text):

- Google Forms' CSV download: `2026/11/20 9:05:41 오전 GMT+9` in Korean, `2026/11/20 9:05:41 AM GMT+9` in
  English (the case `tests/cases/surveys/survey_google_forms_ko_csv_download_timestamp.csv`); its response
  sheet in Google Sheets: `2026. 11. 20 오전 9:05:41` (Korean locale), `11/20/2026 9:05:41` (US);
  Apps Script's `Date` text: `Fri Nov 20 2026 09:05:41 GMT+0900 (Korean Standard Time)`.
- Microsoft Forms: its Excel download holds "Start time"/"Completion time" as date cells; re-saved as
  CSV they are Excel's text for the locale: `2026-11-20 9:05` (Korean), `11/20/2026 9:05` (US),
  `20/11/2026 09:05` (UK).
- Naver Form: year-first Korean dates, `2026.11.20 09:05`, `2026.11.20(금) 오전 9:05`, `2026년 11월 20일 오전 9시 5분`.
- SurveyMonkey's CSV: "Start Date"/"End Date" as `11/20/2026 09:05:41 AM` (US month-first).
- Typeform's CSV: "Start Date (UTC)"/"Submit Date (UTC)" as `2026-11-20 00:05:41` (the zone is in the
  header, which `rows` reads: see `header_zone`).
- Excel in Korean: `2026-11-20 오전 9:05:41`, `2026. 11. 20. 오후 3:05`; in English: `Nov 20, 2026 9:05 AM`,
  `20-Nov-2026`.

Sources: the Google Forms case above (from a public bug report); the Typeform and SurveyMonkey column names
and value shapes from public repositories holding their exports (code search for `Submit Date (UTC)` and
`Respondent ID,Collector ID,Start Date,End Date`); the rest is Excel's and Google Sheets' documented
locale date formats. Naver Form's and Microsoft Forms' exact CSV shapes could not be confirmed by search:
the grammar below reads every year-first Korean shape and every locale's month-first or day-first shape.

The grammar: ISO 8601 as Python reads it; else a date, optionally a weekday (`(금)`, `Fri`), then
optionally a time of day (24-hour, or 12-hour with 오전/오후 or AM/PM before or after it, or
`9시 5분 41초`), then optionally a UTC offset (`GMT+9`, `UTC+05:30`, `+0900`, `GMT`, `Z`, `KST`).
The date is year-first (`2026-11-20`, `2026/11/20`, `2026. 11. 20.`, `2026년 11월 20일`), or year-last
(`11/20/2026`, `20.11.2026`), or with an English month name (`Nov 20, 2026`, `20 Nov 2026`).

A year-last date is read day-first or month-first only when its numbers decide it (`20/11/2026`,
`11/20/2026`, `05/05/2026`); `05/06/2026` is refused, the message saying how to write it. So is a
two-digit year. Text with an offset is that instant (an aware datetime); text without one is a
wall-clock time (a naive datetime), which the caller places in the form's time zone. An offset
outside -12:00..+14:00 (the range of UTC offsets in use, IANA tz database) or with 60 minutes or more,
and a 12-hour time whose hour is not 1 to 12 (`0:05 오후`), are refused.

python-dateutil was weighed and not used: it guesses a day/month order (month-first by default) where
one must be refused, and reads neither 오전/오후 nor 시/분.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

_MERIDIEM = r"오전|오후|[ap]\.?m\.?"
_TIME = rf"""
    (?:
        (?:\s*T\s*|\s*,\s*|\s+|(?=\s*(?:{_MERIDIEM})))
        (?:\s*(?P<before>{_MERIDIEM})\s*)?
        (?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?::(?P<second>\d{{2}})(?:[.,](?P<fraction>\d{{1,6}}))?)?
        (?:\s*(?P<after>{_MERIDIEM}))?
        (?:\s*(?P<zone>Z|(?:GMT|UTC)?\s*(?P<sign>[+-])(?P<zh>\d{{1,2}})(?::?(?P<zm>\d{{2}}))?|GMT|UTC))?
    )?
"""
_YEAR_FIRST = re.compile(
    rf"(?P<year>\d{{4}})\s*(?P<sep>[-./])\s*(?P<month>\d{{1,2}})\s*(?P=sep)\s*(?P<day>\d{{1,2}})\.?{_TIME}",
    re.VERBOSE | re.IGNORECASE,
)
_YEAR_LAST = re.compile(
    rf"(?P<first>\d{{1,2}})\s*(?P<sep>[-./])\s*(?P<second_part>\d{{1,2}})\s*(?P=sep)\s*(?P<year>\d{{2}}|\d{{4}})\.?{_TIME}",
    re.VERBOSE | re.IGNORECASE,
)
_KOREAN_DATE = re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일")
_KOREAN_TIME = re.compile(r"(\d{1,2})\s*시(?:\s*(\d{1,2})\s*분)?(?:\s*(\d{1,2})\s*초)?")
_WEEKDAY = r"(?:[월화수목금토일](?:요일)?|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?)"
_WEEKDAY_IN_PARENTHESES = re.compile(rf"\s*\(\s*{_WEEKDAY}\s*\)", re.IGNORECASE)
_LEADING_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
# A zone's name after its offset, as JavaScript writes it: `GMT+0900 (Korean Standard Time)`.
_ZONE_NAME = re.compile(r"(?<=\d)\s*\([A-Za-z][A-Za-z .]*\)$")
_KST = re.compile(r"\s*\(?\bKST\)?$")
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_MONTH_FIRST = re.compile(rf"^{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})", re.IGNORECASE)
_DAY_FIRST = re.compile(rf"^(?P<day>\d{{1,2}})[\s-]+{_MONTH}[\s,-]+(?P<year>\d{{4}})", re.IGNORECASE)
# Real UTC offsets run from -12:00 (Baker Island) to +14:00 (Line Islands).
_OFFSETS_IN_USE = (timedelta(hours=-12), timedelta(hours=14))


_HEADER_ZONE = re.compile(r"\((?:UTC|GMT)\s*(?:(?P<sign>[+-])(?P<zh>\d{1,2})(?::?(?P<zm>\d{2}))?)?\)", re.IGNORECASE)


def header_zone(header: str) -> timezone | None:
    """The zone a column's header names for its times, as Typeform's `Submit Date (UTC)` does; None if none.

    `(UTC)`, `(GMT)`, `(UTC+9)`, `(GMT+09:00)`; an offset not in use names no zone.
    """
    match = _HEADER_ZONE.search(header)
    if match is None:
        return None
    offset = timedelta(hours=int(match["zh"] or 0), minutes=int(match["zm"] or 0))
    offset = -offset if match["sign"] == "-" else offset
    return timezone(offset) if _in_use(offset) and int(match["zm"] or 0) < 60 else None


class DateTimeTextError(ValueError):
    """The text is not a date and time in any form read here; the message quotes it and says why."""


def parse_datetime_text(text: str) -> datetime:
    """The date and time `text` writes: aware if it carries a UTC offset, naive otherwise.

    Raises DateTimeTextError naming the text and what is wrong with it, with how to write it instead.
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
    plain = _normalised(text)
    match = _YEAR_FIRST.fullmatch(plain)
    if match is not None:
        return _moment(text, match, int(match["year"]), int(match["month"]), int(match["day"]))
    match = _YEAR_LAST.fullmatch(plain)
    if match is None:
        raise DateTimeTextError(f"{text!r} is not a date and time (use 2026-11-24 10:15)")
    if len(match["year"]) == 2:
        raise DateTimeTextError(f"{text!r} has a two-digit year: write the whole year (2026-11-24 10:15)")
    month, day = _month_and_day(text, int(match["first"]), int(match["second_part"]), int(match["year"]))
    return _moment(text, match, int(match["year"]), month, day)


def _normalised(text: str) -> str:
    """Korean date and time words, weekdays, zone names and English month names rewritten as the grammar reads."""
    plain = _KOREAN_DATE.sub(r"\1-\2-\3", text.strip())
    plain = _KOREAN_TIME.sub(lambda m: f"{m[1]}:{int(m[2] or 0):02d}" + (f":{int(m[3]):02d}" if m[3] else ""), plain)
    plain = _WEEKDAY_IN_PARENTHESES.sub("", _LEADING_WEEKDAY.sub("", plain))
    plain = _ZONE_NAME.sub("", _KST.sub(" +09:00", plain))
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        named = pattern.match(plain)
        if named:
            month = _MONTHS[named["mon"][:3].lower()]
            plain = f"{named['year']}-{month}-{named['day']}{plain[named.end() :]}"
            break
    return plain


def _month_and_day(text: str, first: int, second: int, year: int) -> tuple[int, int]:
    """(month, day) of a year-last date whose numbers decide its order; else DateTimeTextError saying how to fix it."""
    if first > 12 >= second:
        return second, first  # day first: 20/11/2026
    if second > 12 >= first or first == second:
        return first, second  # month first: 11/20/2026, or the same either way: 05/05/2026
    if first > 12 and second > 12:
        raise DateTimeTextError(f"{text!r} is not a date: neither {first} nor {second} is a month")
    as_month_first = f"{year}-{first:02d}-{second:02d}"
    as_day_first = f"{year}-{second:02d}-{first:02d}"
    raise DateTimeTextError(
        f"{text!r} could be {as_month_first} (month first) or {as_day_first} (day first): "
        "write the year first (yyyy-mm-dd), or format the column as a date in Excel before exporting"
    )


def _moment(text: str, match: re.Match[str], year: int, month: int, day: int) -> datetime:
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
            year,
            month,
            day,
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
