"""Typing column by column (`columns`) gives exactly what typing cell by cell (`rows.typed_rows`) gives.

The same good rows and values, the same Parquet per partition day, the same problems in the same order,
the same refusal: for generated sheets full of what people and spreadsheets really put in cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.sample_surveys import survey_rows, write_survey_csv, write_survey_workbook
from shoplake.surveys.cells import canonical_row
from shoplake.surveys.column_types import SPACES
from shoplake.surveys.forms import Column, Form, Limits, all_forms
from shoplake.surveys.layout import Layout, find_layout
from shoplake.surveys.rows import Converter, TypedRow, typed_rows
from shoplake.surveys.survey_file import read_survey, typed_partitions
from shoplake.surveys.workbook import Refused, Row, SheetRows, open_survey_file

SOURCE = "uploads/test.xlsx"
COLUMNS = (
    Column("respondent_id", "string", True, ("ID",), max_length=12),
    Column("submitted_at", "timestamp", True, ("Submitted at",)),
    Column(
        "channel",
        "string",
        True,
        ("Channel",),
        allowed=("subway", "tv", "friend"),
        value_aliases={"지하철": "subway", "metro": "subway", "텔레비전": "tv"},
    ),
    Column("first_heard_on", "date", False, ("When",)),
    Column("country", "string", False, ("Country",), value_aliases={"korea": "KR"}, max_length=2, pattern="[A-Z]{2}$"),
    Column("comment", "string", False, ("Comment",)),
    Column(
        "categories", "string_list", False, ("Categories",), allowed=("tops", "shoes"), value_aliases={"상의": "tops"}
    ),
    Column("satisfaction", "integer", True, ("Satisfaction",), minimum=1, maximum=5),
    Column("visits", "integer", False, ("Visits",)),
    Column("ratio", "number", False, ("Ratio",), minimum=0, maximum=1.5),
    Column("agreed", "boolean", False, ("Agreed",)),
    Column("sent_at", "timestamp", False, ("Sent (UTC)", "Sent")),
    Column("logged_at", "timestamp", False, ("Logged (UTC+05:30)", "Logged")),
)
HEADER: tuple[str, ...] = (
    "ID",
    "Submitted at",
    "Channel",
    "When",
    "Country",
    "Comment",
    "Categories",
    "Satisfaction",
    "Visits",
)
HEADER += ("Ratio", "Agreed", "Sent (UTC)", "Logged (UTC+05:30)")
TEXTS = [
    *("R001", "  padded  ", "   ", "\u3000", "ＡＢＣ", "ｒ１２", "=SUM(A1:A2)", "+1.5", "-3", "@home", "\tx", "\rx"),
    *(
        "1,000",
        "1,00",
        "12,345.5",
        "3",
        "3.5",
        "7",
        "-1",
        "0",
        "1e400",
        "5점",
        "지하철",
        "Subway",
        "ＳＵＢＷＡＹ",
        "tv",
    ),
    *("TV ", "metro", "unknown", "KR", "kr", "korea", "K1", "KRX", "2026-11-24 10:15", "2026/11/24"),
    *("2026. 11. 24. 오전 10:15:00", "2026-11-24T10:15:00+09:00", "2026-11", "2026-13", "1899-12-31", "어제", "09:30"),
    *("yes", "Y", "예", "아니오", "O", "x", "maybe", "True", "상의, 하의", "tops/shoes;상의", "a" * 100, "é" * 13),
    *("e\u0301", "#DIV/0!", "nan", "inf", "2020-03-08 02:30", "2020-11-01 01:30", "\x1ctrim", "trim\x85"),
    *("2026-02-30 10:15", "2026-11-24 24:00", "2026-11-24 10:15:60", "0999-01-01 00:00", "2036-12-31 23:59:59"),
    *("1970-06-01 12:00", "1987-05-10 02:30:00", "2026-11-24 10:15 ", "２０２６-11-24 10:15", "2026-11-24T10:15"),
]
FLOATS = [1.0, 3.0, 5.0, 5.5, 0.0, -0.0, 1.25, 1e20, 2.0**63, -(2.0**63), 2.0**53 + 2, 45_000.5, 59.0, 60.0, 61.0, 0.5]
FLOATS += [2_958_465.0, 2_958_466.0, 2_957_003.0, -1.0, float("nan"), float("inf"), -float("inf")]
MOMENTS = [
    *(datetime(2026, 11, 24, 10, 15, 30, 123456), datetime(2020, 3, 8, 2, 30), datetime(2020, 11, 1, 1, 30)),
    *(datetime(1987, 5, 10, 2, 30), datetime(1987, 10, 11, 2, 30), datetime(1970, 12, 31, 23, 59, 59, 999999)),
    *(datetime(1971, 1, 1), datetime(2036, 12, 31, 23, 59), datetime(2037, 1, 1), datetime(1900, 1, 1)),
    *(datetime(1899, 12, 31), datetime(1904, 1, 1), datetime(9999, 12, 31, 23, 59, 59), datetime(1, 1, 1, 12, 0)),
]
OTHERS = [time(9, 30), timedelta(hours=3), True, False, None]

texts = st.sampled_from(TEXTS) | st.text(max_size=20)
floats = st.sampled_from(FLOATS) | st.floats() | st.integers(-(2**70), 2**70).map(float)
moments = st.sampled_from(MOMENTS) | st.datetimes(min_value=datetime(1899, 1, 1), max_value=datetime(2040, 12, 31))
anything = texts | floats | moments | st.sampled_from(OTHERS)
# A column of one kind of cell takes the bulk path; a mixed column the per-cell one for some of its cells.
BY_TYPE = {
    "string": texts,
    "string_list": texts,
    "integer": floats,
    "number": floats,
    "timestamp": moments,
    "date": moments | texts,
    "boolean": st.booleans(),
}


def _form(zone: str, limits: Limits | None = None) -> Form:
    return Form("eq", 1, "Equivalence", "survey_eq", "submitted_at", zone, COLUMNS, 0.5, limits=limits or Limits())


@st.composite
def sheets(draw: st.DrawFn) -> list[tuple[object, ...]]:
    """A header and up to 12 data rows; each column of one kind of cell or of any, blanks anywhere."""
    count = draw(st.integers(0, 12))
    columns = []
    for column in COLUMNS:
        kind = draw(st.sampled_from(["same", "same", "any"]))
        cells = BY_TYPE[column.type] if kind == "same" else anything
        blanks = draw(st.sampled_from([0.0, 0.0, 0.3]))
        values = draw(st.lists(st.none() if blanks and draw(st.booleans()) else cells, min_size=count, max_size=count))
        columns.append(values)
    rows = [tuple(column[n] for column in columns) for n in range(count)]
    extra = draw(st.lists(st.sampled_from([(), (None,) * 13, ("", None), (None, None, "x")]), max_size=2))
    return [HEADER, *rows, *extra]


def _sheet(rows: list[tuple[object, ...]], date1904: bool) -> SheetRows:
    return SheetRows("응답", iter((n, canonical_row(row)) for n, row in enumerate(rows, start=1)), date1904)


def _row_by_row(form: Form, rows: list[tuple[object, ...]], date1904: bool) -> tuple[dict[date, pa.Table], list[dict]]:
    return _reference(form, *find_layout([_sheet(rows, date1904)], [form]), date1904)


def _reference(
    form: Form, layout: Layout, sheet: SheetRows, rest: list[tuple[int, Row]], date1904: bool
) -> tuple[dict[date, pa.Table], list[dict]]:
    """The reference: `typed_rows`, and the Parquet table each day's rows made before columns were typed in bulk."""
    converter = Converter(form, date1904)
    schema = form.arrow_schema()
    partition = [c.name for c in form.columns].index(form.partition_by)
    days: dict[date, list[TypedRow]] = {}
    problems: list[dict] = []
    for result in typed_rows(layout, sheet, rest, converter):
        if isinstance(result, TypedRow):
            days.setdefault(converter.local_date(result.values[partition]), []).append(result)
        else:
            problems += [p.as_dict() for p in result]
    tables = {}
    for day, typed in days.items():
        arrays = [pa.array([r.values[i] for r in typed], type=schema.field(i).type) for i in range(len(form.columns))]
        arrays.append(pa.array([SOURCE] * len(typed), type=pa.string()))
        arrays.append(pa.array([r.number for r in typed], type=pa.int32()))
        arrays.append(pa.array([form.version] * len(typed), type=pa.int16()))
        tables[day] = pa.Table.from_arrays(arrays, schema=schema)
    return tables, problems


def _by_columns(
    form: Form, rows: list[tuple[object, ...]], date1904: bool, batch_rows: int
) -> tuple[dict[date, pa.Table], list[dict]]:
    layout, sheet, rest = find_layout([_sheet(rows, date1904)], [form])
    count, partitions, problems = typed_partitions(
        layout, sheet, rest, Converter(form, date1904), SOURCE, batch_rows=batch_rows
    )
    tables = {day: pq.read_table(pa.BufferReader(body)) for day, body in partitions.items()}
    assert count == sum(t.num_rows for t in tables.values())
    return tables, [p.as_dict() for p in problems]


Answer = tuple[dict[date, pa.Table], list[dict]]


def _outcome(run: Callable[..., Answer], *args: object) -> Answer | tuple[object, ...]:
    try:
        return run(*args)
    except Refused as refused:
        return ("refused", refused.reason, refused.sheet, refused.row, refused.column)


def _assert_same(form: Form, rows: list[tuple[object, ...]], date1904: bool = False, batch_rows: int = 4) -> None:
    expected = _outcome(_row_by_row, form, rows, date1904)
    got = _outcome(_by_columns, form, rows, date1904, batch_rows)
    if expected[0] == "refused":
        assert got == expected
        return
    want_tables, want_problems = cast(Answer, expected)
    got_tables, got_problems = cast(Answer, got)
    assert got_problems == want_problems
    assert sorted(got_tables) == sorted(want_tables)
    for day, table in want_tables.items():
        assert got_tables[day].equals(table), (day, got_tables[day].to_pylist(), table.to_pylist())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    rows=sheets(),
    zone=st.sampled_from(["Asia/Seoul", "America/New_York", "UTC"]),
    date1904=st.booleans(),
    batch_rows=st.sampled_from([1, 3, 10_000]),
)
def test_generated_sheets_type_alike_both_ways(
    rows: list[tuple[object, ...]], zone: str, date1904: bool, batch_rows: int
) -> None:
    # GIVEN a sheet of good and bad cells of every kind WHEN typed both ways THEN the answers are one
    _assert_same(_form(zone), rows, date1904, batch_rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=sheets(),
    limits=st.builds(
        Limits,
        max_rows=st.integers(2, 14),
        max_columns=st.sampled_from([12, 13, 200]),
        max_cell_chars=st.sampled_from([5, 20, 10_000]),
    ),
)
def test_refusals_come_at_the_same_row_and_column(rows: list[tuple[object, ...]], limits: Limits) -> None:
    # GIVEN limits a sheet may pass WHEN typed both ways THEN the same refusal, or none, names the same place
    wide = [rows[0], *((*row, "extra") if n % 4 == 3 else row for n, row in enumerate(rows[1:]))]
    _assert_same(_form("Asia/Seoul", limits), wide)


def test_every_kind_of_bad_cell_is_reported_alike() -> None:
    # GIVEN each pitfall in each column of an otherwise good row
    good = ("R1", datetime(2026, 11, 24, 10, 15), "tv", None, "KR", "ok", "tops", 3.0, 10.0, 0.5, True, None, None)
    mixed: list[tuple[object, ...]] = [HEADER]
    for k in range(len(good)):
        mixed += [(*good[:k], value, *good[k + 1 :]) for value in TEXTS + FLOATS + MOMENTS + OTHERS]
    # AND sheets whose every column holds one kind of cell: the bulk paths, whole columns at a time
    whole = [[HEADER, *((f"R{n}", *[value] * 12) for n, value in enumerate(kind))] for kind in (TEXTS, FLOATS, MOMENTS)]
    for zone in ("Asia/Seoul", "America/New_York", "Europe/Berlin"):
        for date1904 in (False, True):
            for rows in [mixed, *whole]:
                # THEN both ways give the same rows, problems and Parquet
                _assert_same(_form(zone), rows, date1904, batch_rows=100)


def test_a_column_mixing_numbers_and_booleans_remembers_answers_as_before() -> None:
    # GIVEN a choice column where 1.0 and True meet (equal as dict keys) in the per-cell converter's memory
    rows: list[tuple[object, ...]] = [HEADER]
    for n, channel in enumerate([1.0, True, "tv", False, 0.0, "1", -0.0]):
        rows.append((f"R{n}", datetime(2026, 11, 24, 10, 15), channel, None, None, None, None, 3.0))
    _assert_same(_form("Asia/Seoul"), rows)


def test_the_sample_survey_types_alike_on_the_real_form() -> None:
    # GIVEN the realistic sample answers (dates, text dates, numbers as text) against offline_ads
    form = next(f for f in all_forms() if f.form == "offline_ads")
    header: tuple[str, ...] = (
        "응답자 ID",
        "응답 일시",
        "처음 알게 된 경로",
        "인지 시기",
        "연령대",
        "성별",
        "국가",
        "지역",
    )
    header += ("선호 카테고리", "만족도", "추천 의향", "의견")
    answers = [tuple(row) for row in survey_rows(600)]
    answers[3] = (*answers[3][:9], "6", *answers[3][10:])
    _assert_same(form, [header, *answers], batch_rows=250)
    _assert_same(replace(form, timezone="Europe/Berlin"), [header, *answers], batch_rows=10_000)


@pytest.mark.parametrize(
    ("name", "budget", "reader"),
    [("answers.xlsx", 2**30, "calamine"), ("answers.xlsx", 1, "openpyxl-streaming"), ("answers.csv", 2**30, "csv")],
)
def test_a_file_reads_alike_through_read_survey(tmp_path: Path, name: str, budget: int, reader: str) -> None:
    # GIVEN a file as staff upload it, with its mistakes WHEN read_survey reads it, by each reader
    form = next(f for f in all_forms() if f.form == "offline_ads")
    path = tmp_path / name
    if name.endswith(".csv"):
        write_survey_csv(path, rows=120)
    else:
        write_survey_workbook(path, rows=120)
    parsed = read_survey(path, path.name, SOURCE, (form,), budget)
    # THEN it is what the per-cell path makes of the same sheet, read by the same reader
    sheets, chosen = open_survey_file(path, path.name, form.limits, budget, tmp_path)
    assert chosen == parsed.reader == reader
    want_tables, want_problems = _reference(form, *find_layout(sheets, [form]), False)
    assert [p.as_dict() for p in parsed.problems] == want_problems
    assert sorted(parsed.partitions) == sorted(want_tables)
    for day, body in parsed.partitions.items():
        assert pq.read_table(pa.BufferReader(body)).equals(want_tables[day])
    assert parsed.rows == sum(t.num_rows for t in want_tables.values()) > 100


@pytest.mark.parametrize("zone", ["Asia/Seoul", "America/New_York"])
def test_times_a_dst_change_skips_or_repeats_are_read_as_python_reads_them(zone: str) -> None:
    # GIVEN wall-clock times in a DST gap and fold, as cells of a date-formatted column
    gaps = [datetime(2020, 3, 8, 2, 30), datetime(2020, 11, 1, 1, 30), datetime(1987, 5, 10, 2, 30)]
    gaps += [datetime(1987, 10, 11, 2, 30), datetime(1988, 5, 8, 2, 0), datetime(2021, 3, 14, 2, 59, 59)]
    rows: list[tuple[object, ...]] = [HEADER, *((f"R{n}", moment, "tv", moment) for n, moment in enumerate(gaps))]
    rows = [row if n == 0 else (*row, None, None, None, 1.0) for n, row in enumerate(rows)]
    _assert_same(_form(zone), rows)


def test_bulk_typing_knows_every_character_python_strips() -> None:
    # GIVEN the whole of Unicode THEN the characters bulk text typing treats as padding are str.strip()'s
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == SPACES


@pytest.mark.parametrize("batch_rows", [2, 100])
@pytest.mark.parametrize(
    ("long_at", "wide_at", "max_rows"),
    [((5, 2), None, 100), ((5, 2), 8, 100), ((6, 5), 4, 100), ((4, 9), 4, 100), ((7, 0), None, 5), ((3, 5), None, 5)],
)
def test_the_first_refusal_in_row_order_is_the_one_raised(
    long_at: tuple[int, int], wide_at: int | None, max_rows: int, batch_rows: int
) -> None:
    # GIVEN a sheet with an over-long cell, maybe a row too wide, maybe more rows than allowed
    good = ("R1", datetime(2026, 11, 24, 10, 15), "tv", None, "KR", "ok", "tops", 3.0, 10.0, 0.5, True, None, None)
    rows: list[tuple[object, ...]] = [HEADER, *[good] * 10]
    row, column = long_at
    rows[row - 1] = (*good[:column], "x" * 30, *good[column + 1 :])
    if wide_at is not None:
        rows[wide_at - 1] = (*rows[wide_at - 1], "beyond")
    limits = Limits(max_rows=max_rows, max_columns=13, max_cell_chars=20)
    # THEN both ways refuse at the same row and column, with the same reason
    assert _outcome(_row_by_row, _form("Asia/Seoul", limits), rows, False)[0] == "refused"
    _assert_same(_form("Asia/Seoul", limits), rows, batch_rows=batch_rows)
