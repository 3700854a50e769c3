"""Cells become the form's types, whatever way a person or Excel stored them; problems say where."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from shoplake.surveys.forms import Limits, all_forms
from shoplake.surveys.layout import find_layout
from shoplake.surveys.rows import CellError, Converter, neutralise, typed_rows
from shoplake.surveys.workbook import Refused, SheetRows

FORM = next(f for f in all_forms() if f.form == "offline_ads")
CONVERT = Converter(FORM, date1904=False)
CONVERT_1904 = Converter(FORM, date1904=True)
KST_1015_UTC = datetime(2026, 11, 24, 1, 15, tzinfo=UTC)  # 10:15 in Seoul


def _convert(column: str, value: object, converter: Converter = CONVERT) -> object:
    return converter.convert(FORM.column(column), value)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 24, 10, 15),
        "2026-11-24 10:15",
        "2026/11/24 10:15:00",
        "2026.11.24 10:15",
        "2026. 11. 24. 오전 10:15:00",
        "2026-11-24T10:15:00+09:00",
        "2026-11-24T01:15:00.000Z",
        "2026/11/24 10:15:00 오전 GMT+9",  # Google Forms' Korean CSV download
        "2026/11/24 10:15:00 AM GMT+9",  # and its English one
        "2026/11/24 1:15:00 a.m. GMT",
        "2026/11/23 10:15:00 PM GMT-3",
        "2026-11-24 06:45 UTC+05:30",
        "2026-11-24 10:15:00 +0900",
        "2026/11/24 오전 10:15",
        "2026년 11월 24일 오전 10:15",
        46350 + 10.25 / 24,  # an Excel serial number (only a numeric cell holds one)
        "2026/11/24 10:15:00 AM GMT+09:00",
        "2026-11-23T13:15:00-12:00",  # the offsets in use run from -12:00
        "2026-11-24T15:15:00+14:00",  # to +14:00
    ],
)
def test_submitted_at_is_read_as_seoul_time_and_stored_in_utc(value: object) -> None:
    assert _convert("submitted_at", value) == KST_1015_UTC


def test_afternoon_in_korean_is_after_noon() -> None:
    assert _convert("submitted_at", "2026. 11. 24. 오후 3:05:00") == datetime(2026, 11, 24, 6, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026/11/24 12:01:10 오후 GMT+9", datetime(2026, 11, 24, 3, 1, 10, tzinfo=UTC)),  # 12 오후 is noon
        ("2026/11/24 12:01:10 오전 GMT+9", datetime(2026, 11, 23, 15, 1, 10, tzinfo=UTC)),  # 12 오전 is midnight
        ("2026/11/24 12:01:10 PM GMT+9", datetime(2026, 11, 24, 3, 1, 10, tzinfo=UTC)),
        ("2026/11/24 12:01:10 AM GMT+9", datetime(2026, 11, 23, 15, 1, 10, tzinfo=UTC)),
    ],
)
def test_twelve_oclock_is_noon_in_the_afternoon_and_midnight_in_the_morning(text: str, utc: datetime) -> None:
    assert _convert("submitted_at", text) == utc


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026/11/24 13:15 오후", "hour 13 with 오후 is not a 12-hour time"),
        ("2026/11/24 오후 3:15 PM", "says 오전/오후 (AM/PM) twice"),
        ("05/11/2026 10:15", "could be 2026-05-11 (month first) or 2026-11-05 (day first): write the year first"),
        ("2026/11/24 10:15 GMT+15", "GMT+15 is not a UTC offset in use"),
        ("2026/11/24 10:15 GMT-14", "GMT-14 is not a UTC offset in use"),
        ("2026/11/24 9:05:41 AM GMT+9:75", "GMT+9:75 is not a UTC offset in use"),  # not +10:15
        ("2026-11-24 10:15 UTC-13:30", "UTC-13:30 is not a UTC offset in use"),
        ("2026-11-24T10:15:00+23:00", "+23:00 is not a UTC offset in use"),
        ("2026-11-24T10:15:00+09:00:30", "+9:00:30 is not a UTC offset in use"),
        ("2026/11/24 0:05 오후", "hour 0 with 오후 is not a 12-hour time (1 to 12)"),  # not 12:05
        ("2026/11/24 0:05 AM", "hour 0 with AM is not a 12-hour time (1 to 12)"),
        ("2026/02/30 10:15", "is not a date and time: day is out of range for month"),
        ("46350.427083333336", "'46350.427083333336' is a number, not a date"),  # a serial typed as text is text
    ],
)
def test_a_timestamp_that_is_no_instant_is_refused_saying_why(text: str, reason: str) -> None:
    with pytest.raises(CellError, match=re.escape(reason)):
        _convert("submitted_at", text)


def test_serial_dates_follow_the_workbooks_epoch() -> None:
    # 1904-based workbooks (old Mac Excel) count 1,462 days fewer for the same date
    assert _convert("submitted_at", 46350 - 1462 + 10.25 / 24, CONVERT_1904) == KST_1015_UTC


@pytest.mark.parametrize(
    ("value", "expected"), [("2026-07", date(2026, 7, 1)), (datetime(2026, 7, 3), date(2026, 7, 3))]
)
def test_first_heard_on_takes_a_month_or_a_date(value: object, expected: date) -> None:
    assert _convert("first_heard_on", value) == expected


@pytest.mark.parametrize(("value", "expected"), [(4, 4), (4.0, 4), ("4", 4), (" 4 ", 4), ("４", 4), ("4점", 4)])
def test_numbers_stored_as_text_or_floats_are_whole_numbers(value: object, expected: int) -> None:
    assert _convert("satisfaction", value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [("6", "6 is above the maximum 5"), (0, "0 is below the minimum 1"), ("4.5", "4.5 is not a whole number"),
     ("좋아요", "'좋아요' is not a number")],
)  # fmt: skip
def test_bad_numbers_say_why(value: object, message: str) -> None:
    with pytest.raises(CellError, match=message):
        _convert("satisfaction", value)


NUMBER = replace(FORM.column("satisfaction"), name="score", type="number", minimum=None, maximum=None)


@pytest.mark.parametrize(
    ("text", "number"),
    [("1,000", 1000.0), ("12,345.5", 12345.5), ("-1,234,567", -1234567.0), ("0.5", 0.5), (".5", 0.5), ("+3", 3.0),
     ("７", 7.0)],
)  # fmt: skip
def test_number_text_with_thousands_separators_in_threes_is_read(text: str, number: float) -> None:
    assert CONVERT.convert(NUMBER, text) == number


@pytest.mark.parametrize("text", ["1,0", "4,5", "1,00", "1,0000", "12,34,567", ",5", "1_0", "1e3", "nan", "inf", "0x1"])
def test_number_text_that_could_be_read_two_ways_or_none_is_a_problem_saying_why(text: str) -> None:
    # "1,0" is 1.0 to German Excel and 10 to a thousands separator: neither is taken
    with pytest.raises(CellError, match=re.escape(f"{text!r} is not a number")) as error:
        CONVERT.convert(NUMBER, text)
    assert ("commas group thousands in threes" in str(error.value)) == ("," in text)


@pytest.mark.parametrize(
    ("value", "expected"), [("지하철", "subway"), ("TV", "tv"), ("Billboard", "outdoor"), ("online", "online")]
)
def test_channel_answers_in_korean_or_english_become_one_value(value: str, expected: str) -> None:
    assert _convert("first_heard_channel", value) == expected


def test_an_answer_outside_the_choices_lists_them() -> None:
    with pytest.raises(
        CellError, match="'우주선' is not one of print, outdoor, subway, tv, radio, friend, online, other"
    ):
        _convert("first_heard_channel", "우주선")


def test_multi_select_answers_become_a_list() -> None:
    assert _convert("preferred_categories", "상의, 원피스 / 신발") == ["tops", "dresses", "shoes"]


def test_required_cells_must_not_be_empty_and_optional_ones_may() -> None:
    with pytest.raises(CellError, match="a value is required"):
        _convert("respondent_id", "  ")
    assert _convert("comment", None) is None


def test_an_id_typed_as_a_number_keeps_no_decimal_point() -> None:
    assert _convert("respondent_id", 1024.0) == "1024"


@pytest.mark.parametrize(
    ("text", "stored"),
    [("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("@SUM(1+1)", "'@SUM(1+1)"), ("+82 10", "'+82 10"), ("-5", "-5"),
     ("좋아요", "좋아요")],
)  # fmt: skip
def test_text_that_would_run_as_a_formula_is_neutralised(text: str, stored: str) -> None:
    assert neutralise(text) == stored
    assert _convert("comment", text) == stored


def _sheet(rows: list[tuple[object, ...]], name: str = "응답") -> SheetRows:
    return SheetRows(name, iter(enumerate(rows, start=1)))


HEADER = ("응답자 ID", "응답 일시", "처음 알게 된 경로", "연령대", "성별", "국가", "만족도", "추천 의향")
ROW = ("R1", datetime(2026, 11, 24, 10, 15), "지하철", "20대", "여성", "KR", 5, 9)


def test_the_header_is_found_under_title_rows() -> None:
    sheet = _sheet([("2026년 11월 설문 결과",), (), HEADER, ROW])
    layout, found, rest = find_layout([sheet], [FORM])
    assert layout.header_row == 3
    assert [c.name for _, c, _ in layout.columns][:3] == ["respondent_id", "submitted_at", "first_heard_channel"]
    (typed,) = typed_rows(layout, found, rest, CONVERT)
    assert not isinstance(typed, list)
    assert typed.number == 4


def test_a_header_cell_emptied_by_a_vertical_merge_takes_the_text_above() -> None:
    # "응답자 ID" merged over rows 1-2: the reader gives it in row 1 and None in row 2
    sheet = _sheet([("응답자 ID", None), (None, *HEADER[1:]), ROW])
    layout, _, _ = find_layout([sheet], [FORM])
    assert layout.header_row == 2
    assert layout.columns[0][1].name == "respondent_id"


def test_the_declared_sheet_is_taken_before_others() -> None:
    notes = _sheet([HEADER, ROW], name="메모")
    answers = _sheet([HEADER, ROW], name="응답")
    layout, _, _ = find_layout([notes, answers], [FORM])
    assert layout.sheet == "응답"


def test_columns_no_form_claims_are_reported_not_dropped_silently() -> None:
    layout, _, _ = find_layout([_sheet([(*HEADER, "담당 직원"), ROW])], [FORM])
    assert layout.ignored == ("담당 직원",)


def test_a_file_matching_no_form_says_what_was_closest() -> None:
    with pytest.raises(Refused, match=r"closest header: sheet '응답' row 1 lacks first_heard_channel"):
        find_layout([_sheet([("응답자 ID", "응답 일시", "연령대")])], [FORM])


def test_problems_name_row_column_header_and_reason() -> None:
    sheet = _sheet([HEADER, ("R1", "어제", "지하철", "20대", "여성", "KR", 9, 9)])
    layout, found, rest = find_layout([sheet], [FORM])
    (problems,) = typed_rows(layout, found, rest, CONVERT)
    assert isinstance(problems, list)
    assert [(p.row, p.column, p.header) for p in problems] == [(2, "B", "응답 일시"), (2, "G", "만족도")]
    assert problems[1].reason == "9 is above the maximum 5"


def test_trailing_empty_rows_are_skipped() -> None:
    sheet = _sheet([HEADER, ROW, (None,) * 8, ("",) * 8, ()])
    layout, found, rest = find_layout([sheet], [FORM])
    assert len(list(typed_rows(layout, found, rest, CONVERT))) == 1


def test_a_sheet_longer_than_the_forms_limit_is_refused_naming_the_row() -> None:
    small = replace(FORM, limits=Limits(max_rows=3))
    sheet = _sheet([HEADER, ROW, ROW, ROW])
    layout, found, rest = find_layout([sheet], [small])
    with pytest.raises(Refused, match="more than 3 rows") as refused:
        list(typed_rows(layout, found, rest, Converter(small, date1904=False)))
    assert refused.value.row == 4
