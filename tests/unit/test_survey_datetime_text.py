"""Dates and times as the survey tools staff use write them (sources: `shoplake.surveys.datetime_text`).

Each tool's shape is read at the instant it means; a day/month order the numbers cannot decide is
refused, saying how to write the date instead.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplake.surveys.datetime_text import DateTimeTextError, header_zone, parse_datetime_text
from shoplake.surveys.forms import all_forms
from shoplake.surveys.survey_file import read_survey

SEOUL = timezone(timedelta(hours=9))
NAIVE_0905 = datetime(2026, 11, 20, 9, 5)
HONOLULU = timezone(timedelta(hours=-10))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Google Sheets, the Forms response sheet in the US locale
        ("11/20/2026 9:05:41", NAIVE_0905.replace(second=41)),
        # Apps Script writing a Date into a cell as text
        ("Fri Nov 20 2026 09:05:41 GMT+0900 (Korean Standard Time)", NAIVE_0905.replace(second=41, tzinfo=SEOUL)),
        # Microsoft Forms' Excel download re-saved as CSV: US and UK Excel
        ("11/20/2026 9:05", NAIVE_0905),
        ("20/11/2026 09:05", NAIVE_0905),
        # Naver Form: a weekday in parentheses, Korean hour and minute words
        ("2026.11.20(금) 오전 9:05", NAIVE_0905),
        ("2026.11.20 (Fri) 09:05", NAIVE_0905),
        ("2026년 11월 20일 오전 9시 5분", NAIVE_0905),
        ("2026년 11월 20일 (금요일) 오후 9시 5분 41초", datetime(2026, 11, 20, 21, 5, 41)),
        # SurveyMonkey's CSV export (US month-first, 12-hour)
        ("11/20/2026 09:05:41 AM", NAIVE_0905.replace(second=41)),
        ("11/20/2026 09:05:41 PM", datetime(2026, 11, 20, 21, 5, 41)),
        # Excel in English
        ("Nov 20, 2026 9:05 AM", NAIVE_0905),
        ("November 20, 2026 9:05", NAIVE_0905),
        ("20-Nov-2026", datetime(2026, 11, 20)),
        ("20 Nov 2026 09:05", NAIVE_0905),
        # A zone written by name
        ("2026-11-20 09:05 KST", NAIVE_0905.replace(tzinfo=SEOUL)),
        ("2026-11-20 09:05 (KST)", NAIVE_0905.replace(tzinfo=SEOUL)),
        # A day/month order the numbers decide: the same either way
        ("05/05/2026", datetime(2026, 5, 5)),
    ],
)
def test_each_tools_date_and_time_is_read_as_written(text: str, expected: datetime) -> None:
    assert parse_datetime_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026/11/20 9:05:41 오전 GMT+9",  # Google Forms' Korean CSV download (tests/cases)
        "2026/11/20 9:05:41 AM GMT+9",  # and its English one
        "2026. 11. 20 오전 9:05:41",  # Google Sheets' Korean locale (no dot after the day)
        "2026-11-20 00:05:41",  # Typeform (zone in the header)
        "2026-11-20 9:05",  # Korean Excel
        "2026-11-20 오전 9:05:41",
        "2026. 11. 20. 오후 3:05",
        "2026.11.20 09:05",  # Naver Form
        "2026-11-20T00:05:41.000Z",  # ISO date cells
    ],
)
def test_the_shapes_read_before_are_still_read(text: str) -> None:
    assert parse_datetime_text(text).date() == datetime(2026, 11, 20).date()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "05/06/2026 9:05",
            "'05/06/2026 9:05' could be 2026-05-06 (month first) or 2026-06-05 (day first): "
            "write the year first (yyyy-mm-dd), or format the column as a date in Excel before exporting",
        ),
        ("06.05.2026", "could be 2026-06-05 (month first) or 2026-05-06 (day first)"),
        ("11/20/26 9:05 AM", "has a two-digit year: write the whole year"),
        ("13/14/2026", "neither 13 nor 14 is a month"),
        ("Smarch 20, 2026", "is not a date and time in a form read here: write 2026-11-24 10:15"),  # no guess
    ],
)
def test_a_date_whose_order_or_year_cannot_be_known_is_refused_saying_how_to_fix_it(text: str, message: str) -> None:
    with pytest.raises(DateTimeTextError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_datetime_text(text)


@pytest.mark.parametrize(
    "text",
    [
        # Korean: the long date's weekday bare (Korean Excel), the short one in parentheses (Naver Form)
        "2026년 11월 20일 금요일 오전 9:05",
        "2026년 11월 20일금요일 9시 5분",
        "2026. 11. 20. (금) 오전 9:05",
        "2026.11.20 (금요일) 09:05",
        "2026-11-20 09:05 (금)",
        # English, before the date, between date and time, after; bare, abbreviated, after a comma, in parentheses
        "Friday, November 20, 2026 9:05 AM",
        "Fri, 20 Nov 2026 09:05",
        "FRI. Nov 20 2026 09:05",
        "2026-11-20 Fri 09:05",
        "20 Nov 2026 (Fri) 09:05",
        "Nov 20, 2026, Friday 9:05 AM",
    ],
)
def test_a_weekday_is_read_wherever_a_tool_writes_it(text: str) -> None:
    assert parse_datetime_text(text) == NAIVE_0905


@pytest.mark.parametrize(
    "text",
    [
        "Fri Nov 20 2026 09:05:41 GMT+0900 (한국 표준시)",  # JavaScript's Date text in a Korean browser
        "Fri Nov 20 2026 09:05:41 GMT+0900 (日本標準時)",
        "Fri Nov 20 2026 09:05:41 GMT+0900 (Korean Standard Time)",
        "2026-11-20 09:05:41 +09:00 (KST)",
    ],
)
def test_a_zone_name_in_any_language_after_the_offset_is_dropped_the_offset_decides(text: str) -> None:
    assert parse_datetime_text(text) == NAIVE_0905.replace(second=41, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026.11.20(월) 09:05", "'2026.11.20(월) 09:05' says Monday, but 2026-11-20 is a Friday"),
        ("2026년 11월 20일 토요일", "says Saturday, but 2026-11-20 is a Friday"),
        ("Mon Nov 20 2026 09:05:41 GMT+0900 (한국 표준시)", "says Monday, but 2026-11-20 is a Friday"),
        ("Thursday, November 20, 2026", "says Thursday, but 2026-11-20 is a Friday"),
    ],
)
def test_a_weekday_that_contradicts_the_date_is_refused_naming_both(text: str, message: str) -> None:
    with pytest.raises(DateTimeTextError, match=re.escape(message)):
        parse_datetime_text(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-20 9:05 KTS", "'2026-11-20 9:05 KTS': the date '2026-11-20' is read, but not '9:05 KTS' after it"),
        ("Smarch 20, 2026", "also read: 2026. 11. 24. 오후 3:05, 2026년 11월 24일 15시 5분, 11/24/2026 3:05 PM"),
        ("2026.11.20 (금) 아침", "is read, but not '아침' after it (write a time as 10:15, 오후 3:05 or 3:05 PM"),
    ],
)
def test_text_not_read_as_a_date_is_refused_saying_what_is_read(text: str, message: str) -> None:
    with pytest.raises(DateTimeTextError, match=re.escape(message)):
        parse_datetime_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20 09:05:41-10:00", datetime(2026, 11, 20, 9, 5, 41, tzinfo=HONOLULU)),
        ("2026-11-20 9:05:41.5 -10:00", datetime(2026, 11, 20, 9, 5, 41, 500000, tzinfo=HONOLULU)),
        ("2026-11-20 9:05 GMT-10", datetime(2026, 11, 20, 9, 5, tzinfo=HONOLULU)),
        ("2026-11-20 9:05 +0900", NAIVE_0905.replace(tzinfo=SEOUL)),  # a plus is no span's
    ],
)
def test_an_offset_is_read_where_survey_tools_write_one(text: str, expected: datetime) -> None:
    assert parse_datetime_text(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-20 09:00-10:00", "holds a span of time ('09:00-10:00'), not one time"),  # ISO would say -10:00
        ("2026-11-20T09:00:00-10:00:00", "holds a span of time"),
        ("2026-11-20 9:00 - 10:00", "holds a span of time"),
        ("2026-11-20 9:00~10:00", "holds a span of time"),
        ("2026-11-20 오전 9시-10시", "holds a span of time"),
        ("2026-11-20 9:00 AM - 10:00 AM", "holds a span of time"),
        ("2026-11-20 9:00-10", "'-10' is read as a UTC offset only after GMT or UTC (GMT-9), or as ±HH:MM after"),
        ("2026-11-20 9:05 -0900", "'-0900' is read as a UTC offset only after GMT or UTC"),
        ("2026-11-20 9:05:41 +9", "'+9' is read as a UTC offset only after GMT or UTC"),
    ],
)
def test_a_span_of_time_or_a_number_after_a_time_is_not_read_as_an_offset(text: str, message: str) -> None:
    with pytest.raises(DateTimeTextError, match=re.escape(message)):
        parse_datetime_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20" + " \t" * 5000,
        "2026-11-20" + " " * 9990 + "09:05",
        "2026-11-20 " + "(" * 9989,
        "20" + "-" * 9990 + "Nov 2026",
        "Nov" + "a" * 9990 + " 20 2026",
        "2026-11-20 " + "9시 " * 3300,
        "2026-11-20 " + "12:00-" * 1660,
        "2026-11-20 09:05 GMT+9 (" + "a" * 9970,
        "2026-11-20 " + "Z(a" * 3300 + ")",
        "2026-11-20 " + ", " * 4990 + "KST",
        "2026-11-20 09:05:41" + "1 " * 4990,
    ],
    ids=lambda text: repr(text[10:16]),
)
def test_a_hostile_cell_of_the_cell_limit_is_read_or_refused_at_once(text: str) -> None:
    # GIVEN 10,000 characters (a cell's limit) built to make a pattern backtrack: runs of spaces, brackets,
    # dashes, letters, Korean hours, time spans, open zone names; WHEN read, THEN it is done in well under a second
    started = time.perf_counter()
    with contextlib.suppress(DateTimeTextError):
        parse_datetime_text(text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("header", "offset"),
    [
        ("Submit Date (UTC)", timedelta(0)),
        ("Start Date (GMT)", timedelta(0)),
        ("응답 일시 (UTC+9)", timedelta(hours=9)),
    ],
)
def test_a_header_may_name_the_zone_of_its_times(header: str, offset: timedelta) -> None:
    assert header_zone(header) == timezone(offset)
    assert header_zone("응답 일시") is None


def _read_csv(tmp_path: Path, headers: list[str], rows: list[list[str]]) -> pa.Table:
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([headers, *rows])
    parsed = read_survey(path, path.name, f"inbox/{path.name}", all_forms(), 1 << 30)
    assert parsed.problems == []
    return pa.concat_tables(pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values())


ANSWERS = ["TV", "20대", "여성", "KR", "5", "9"]


def test_a_typeform_export_is_read_in_the_zone_its_header_names(tmp_path: Path) -> None:
    # GIVEN Typeform's CSV: "Submit Date (UTC)" holds UTC wall-clock times (the form's zone is Seoul)
    headers = ["#", "Submit Date (UTC)", "First heard via", "Age group", "Gender", "Country", "Satisfaction", "NPS"]
    table = _read_csv(tmp_path, headers, [["tf1", "2026-11-20 00:05:41", *ANSWERS]])
    # THEN the instant is 00:05:41 UTC (09:05:41 in Seoul), not 00:05:41 in Seoul
    assert table.column("submitted_at").to_pylist() == [datetime(2026, 11, 20, 0, 5, 41, tzinfo=UTC)]


def test_a_surveymonkey_export_is_read_month_first(tmp_path: Path) -> None:
    # GIVEN SurveyMonkey's CSV: "End Date" as US month-first 12-hour text
    headers = ["Respondent ID", "End Date", "First heard via", "Age group", "Gender", "Country", "Satisfaction", "NPS"]
    table = _read_csv(tmp_path, headers, [["114", "11/20/2026 09:05:41 PM", *ANSWERS]])
    # THEN it is 21:05:41 in the form's zone (Seoul)
    assert table.column("submitted_at").to_pylist() == [datetime(2026, 11, 20, 12, 5, 41, tzinfo=UTC)]
