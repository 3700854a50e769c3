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
- Apps Script or a web page writing JavaScript's `Date` text in a Korean browser: `… GMT+0900 (한국 표준시)`.
- SurveyMonkey's CSV: "Start Date"/"End Date" as `11/20/2026 09:05:41 AM` (US month-first).
- Typeform's CSV: "Start Date (UTC)"/"Submit Date (UTC)" as `2026-11-20 00:05:41` (the zone is in the
  header, which `rows` reads: see `header_zone`).
- Excel in Korean: `2026-11-20 오전 9:05:41`, `2026. 11. 20. 오후 3:05`, the long date
  `2026년 11월 20일 금요일` (Windows ko-KR `yyyy년 M월 d일 dddd`); in English: `Nov 20, 2026 9:05 AM`,
  `20-Nov-2026`, `Friday, November 20, 2026`.

Sources: the Google Forms case above (from a public bug report); the Typeform and SurveyMonkey column names
and value shapes from public repositories holding their exports (code search for `Submit Date (UTC)` and
`Respondent ID,Collector ID,Start Date,End Date`); the rest is Excel's and Google Sheets' documented
locale date formats. Naver Form's and Microsoft Forms' exact CSV shapes could not be confirmed by search:
the grammar below reads every year-first Korean shape and every locale's month-first or day-first shape.

The grammar: ISO 8601 as Python reads it; else a date, then optionally a time of day (24-hour, or
12-hour with 오전/오후 or AM/PM before or after it, or `9시 5분 41초`), then optionally a UTC offset
(`GMT+9`, `UTC+05:30`, `+0900`, `GMT`, `Z`, `KST`), which may be followed by the zone's display name
in parentheses in any language (`GMT+0900 (Korean Standard Time)`, `GMT+0900 (한국 표준시)`: JavaScript's
Date text in the browser's language; the offset decides; parentheses holding a weekday alone are a
weekday's). Without GMT or UTC an offset is ±HH:MM or ±HHMM, and a minus one only after seconds
(`09:05:41-10:00`, as ISO 8601 writers put it): `9:00-10:00` is a span of time, and text holding a span
(two times joined by `-`, `~` or a dash, `9시-10시` too) is refused, as one time is asked for.
The date is year-first (`2026-11-20`, `2026/11/20`, `2026. 11. 20.`, `2026년 11월 20일`), or year-last
(`11/20/2026`, `20.11.2026`), or with an English month name (`Nov 20, 2026`, `20 Nov 2026`). A weekday
may stand anywhere, bare, after a comma or in parentheses: Korean `금요일` (Korean Excel's long date
`2026년 11월 20일 금요일`), `(금)` (the one-syllable name only in parentheses, since bare `월` and `일` are the month
and the day), English `Fri`, `Fri.`, `Friday` (`Fri Nov 20 2026`, `Friday, November 20, 2026`); one that
is not the date's weekday is refused, naming both. Text that is not read is refused saying what part of
it was not understood, or which forms are read.

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
        (?:\s*(?P<zone>Z|(?P<prefix>GMT|UTC)?\s*(?P<sign>[+-])(?P<zh>\d{{1,2}})(?::?(?P<zm>\d{{2}}))?|GMT|UTC))?
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
# Weekdays by number (Monday 0, as datetime.weekday counts): Korean, and English by its first three letters.
_KOREAN_WEEKDAYS = "월화수목금토일"
_ENGLISH_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ENGLISH_WEEKDAY = (
    r"(?<![a-z])(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
    r"(?![a-z])\.?"
)
_FULL_WEEKDAY = rf"[{_KOREAN_WEEKDAYS}]요일|{_ENGLISH_WEEKDAY}"
# A weekday anywhere, with the comma or parentheses around it: `Fri Nov 20`, `Friday, November 20`,
# `2026년 11월 20일 금요일`, `2026.11.20(금)`, `20 Nov 2026 (Fri) 09:05`. A bare one-syllable Korean
# weekday is read only in parentheses: bare, `월` and `일` are the month and the day.
_WEEKDAY = re.compile(
    rf",?\s*(?:\(\s*(?P<enclosed>{_FULL_WEEKDAY}|[{_KOREAN_WEEKDAYS}])\s*\)|(?P<bare>{_FULL_WEEKDAY})),?",
    re.IGNORECASE,
)
# A zone's display name after its offset, as JavaScript's Date text writes it in the browser's language:
# `GMT+0900 (Korean Standard Time)`, `GMT+0900 (한국 표준시)`. Any script: the offset decides, the name is dropped.
# Parentheses holding a weekday alone are a weekday's (`GMT+9 (토)`), checked against the date, never a zone's name.
_ZONE_NAME = re.compile(
    r"(?P<offset>(?:GMT|UTC)\s*[+-]\d{1,2}(?::?\d{2})?|(?<=\s)[+-]\d{2}:?\d{2}|GMT|UTC|Z)\s*"
    rf"\((?!\s*(?i:{_FULL_WEEKDAY}|[{_KOREAN_WEEKDAYS}])\s*\))[^()]+\)$"
)
# Two times joined by a dash or tilde: a span (`9:00-10:00`, `9시~10시`), not a time at a UTC offset. A dash
# after seconds and before HH:MM is an offset (`09:05:41-10:00`, as ISO 8601 writers put it); one after a
# time without seconds, or before a time with them, is a span's.
_TIME_SPAN = re.compile(
    rf"(?<![\d:])\d{{1,2}}:\d{{2}}(?P<seconds>:\d{{2}})?\s?(?:{_MERIDIEM})?\s?(?P<dash>[-–—~])\s?"
    rf"(?:(?:{_MERIDIEM})\s?)?\d{{1,2}}:\d{{2}}(?P<end_seconds>:\d{{2}})?",
    re.IGNORECASE,
)
_DATE_AT_START = re.compile(r"\d{4}\s*([-./])\s*\d{1,2}\s*\1\s*\d{1,2}\.?|\d{1,2}\s*([-./])\s*\d{1,2}\s*\2\s*\d{2,4}")
_KST = re.compile(r"\s?\(?\bKST\)?$")
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
    plain, weekdays = _normalised(text)
    _refuse_time_span(text, plain)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        offset = moment.utcoffset()
        if offset is not None and not _in_use(offset):
            raise DateTimeTextError(f"{text!r}: {_shown(offset)} is not a UTC offset in use")
        return moment
    match = _YEAR_FIRST.fullmatch(plain)
    if match is not None:
        moment = _moment(text, match, int(match["year"]), int(match["month"]), int(match["day"]))
        return _check_weekdays(text, moment, weekdays)
    match = _YEAR_LAST.fullmatch(plain)
    if match is None:
        raise DateTimeTextError(_unreadable(text, plain))
    if len(match["year"]) == 2:
        raise DateTimeTextError(f"{text!r} has a two-digit year: write the whole year (2026-11-24 10:15)")
    month, day = _month_and_day(text, int(match["first"]), int(match["second_part"]), int(match["year"]))
    return _check_weekdays(text, _moment(text, match, int(match["year"]), month, day), weekdays)


def _normalised(text: str) -> tuple[str, list[int]]:
    """The text as the grammar reads it (Korean date and time words, zone names, weekdays and English month
    names rewritten), and the weekdays it names (0 Monday to 6 Sunday)."""
    # Whitespace runs collapsed first: the patterns' `\s*` then never meet a run, and none backtracks over one.
    plain = _KOREAN_DATE.sub(r"\1-\2-\3", " ".join(text.split()))
    plain = _KOREAN_TIME.sub(lambda m: f"{m[1]}:{int(m[2] or 0):02d}" + (f":{int(m[3]):02d}" if m[3] else ""), plain)
    plain = _KST.sub(" GMT+09:00", _ZONE_NAME.sub(r"\g<offset>", plain))
    weekdays: list[int] = []

    def weekday(match: re.Match[str]) -> str:
        name = (match["enclosed"] or match["bare"]).lower()
        korean = _KOREAN_WEEKDAYS.find(name[0])
        weekdays.append(korean if korean >= 0 else _ENGLISH_WEEKDAYS.index(name[:3]))
        return " "

    plain = " ".join(_WEEKDAY.sub(weekday, plain).split())
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        named = pattern.match(plain)
        if named:
            month = _MONTHS[named["mon"][:3].lower()]
            plain = f"{named['year']}-{month}-{named['day']}{plain[named.end() :]}"
            break
    return plain, weekdays


def _refuse_time_span(text: str, plain: str) -> None:
    """DateTimeTextError if the text holds a span of time (`9:00-10:00`): one time is one instant, a span none."""
    span = _TIME_SPAN.search(plain)
    if span is not None and not (span["seconds"] and span["dash"] == "-" and not span["end_seconds"]):
        raise DateTimeTextError(
            f"{text!r} holds a span of time ({span[0]!r}), not one time: write when it happened (2026-11-24 10:15)"
        )


def _check_weekdays(text: str, moment: datetime, weekdays: list[int]) -> datetime:
    """`moment`, if every weekday the text names is its date's; else DateTimeTextError naming both."""
    for said in weekdays:
        if said != moment.weekday():
            day = f"{moment.date().isoformat()} is a {_DAY_NAMES[moment.weekday()]}"
            raise DateTimeTextError(f"{text!r} says {_DAY_NAMES[said]}, but {day}: check the date")
    return moment


def _unreadable(text: str, plain: str) -> str:
    """Why text the grammar does not read is not a date and time, with the forms that are read."""
    date = _DATE_AT_START.match(plain)
    if date is not None and plain[date.end() :].strip():
        rest = plain[date.end() :].strip()
        return (
            f"{text!r}: the date {date[0]!r} is read, but not {rest!r} after it (write a time as 10:15, "
            "오후 3:05 or 3:05 PM, a zone as GMT+9: 2026-11-24 10:15)"
        )
    return (
        f"{text!r} is not a date and time in a form read here: write 2026-11-24 10:15 (year first; also read: "
        "2026. 11. 24. 오후 3:05, 2026년 11월 24일 15시 5분, 11/24/2026 3:05 PM, Nov 24, 2026 3:05 PM)"
    )


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
    if part("sign") and not part("prefix") and not _bare_offset(part("sign"), part("zh"), part("zm"), part("second")):
        raise DateTimeTextError(
            f"{text!r}: {part('zone').strip()!r} is read as a UTC offset only after GMT or UTC (GMT-9), "
            "or as ±HH:MM after seconds (09:05:41-09:00)"
        )
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


def _bare_offset(sign: str, hours: str, minutes: str | None, seconds: str | None) -> bool:
    """Whether a sign and number after a time, without GMT or UTC, are an offset as survey tools write one:
    ±HH:MM or ±HHMM, a minus only after seconds (`09:05:41-10:00`; `9:00-10:00` is a span, `9:00-10` too)."""
    return len(hours) == 2 and minutes is not None and (sign == "+" or seconds is not None)


def _in_use(offset: timedelta) -> bool:
    """Whether a UTC offset is one clocks show: -12:00 to +14:00, in whole minutes."""
    return _OFFSETS_IN_USE[0] <= offset <= _OFFSETS_IN_USE[1] and offset % timedelta(minutes=1) == timedelta(0)


def _shown(offset: timedelta) -> str:
    sign, size = ("-", -offset) if offset < timedelta(0) else ("+", offset)
    return f"{sign}{str(size).removesuffix(':00') if size.seconds % 60 == 0 else size}"
