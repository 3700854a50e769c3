"""Dates at the edges of Excel's calendar, numbers where dates belong, and the per-row safety net: one cell
costs its row at most (with its row, column and reason), never the file; both Excel readers agree."""

from __future__ import annotations

import io
import warnings
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_stack.sample_surveys import KOREAN_HEADERS, survey_rows
from shoplake.surveys import excel_calendar, rows
from shoplake.surveys.datetime_text import parse_datetime_text
from shoplake.surveys.forms import all_forms
from shoplake.surveys.survey_file import Parsed, read_survey

HEADER = "Respondent ID,Submitted at,First heard via,First heard on,Age group,Gender,Country,Satisfaction,NPS\r\n"


def _read(path: Path, budget: int = 1 << 30) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", all_forms(), budget)


def _csv_with_one_odd_row(path: Path, submitted: str, first_heard: str) -> Path:
    lines = [f"R{n},2026-11-24 10:{n:02d},tv,,20s,female,KR,4,9\r\n" for n in range(9)]
    lines.insert(4, f"ODD,{submitted},tv,{first_heard},20s,female,KR,4,9\r\n")  # row 6
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("submitted", "first_heard", "column", "reason"),
    [
        ("0001-01-01 00:00", "", "B", "outside Excel's calendar (1900-01-01 to 9999-12-31)"),  # .NET's "no date"
        ("9999-12-31T23:59:59-12:00", "", "B", "outside Excel's calendar"),  # past year 9999 in UTC
        ("9999-12-31T20:00:00Z", "", "B", "outside Excel's calendar"),  # past year 9999 in Seoul, the partition day
        ("1899-12-31 23:00", "", "B", "outside Excel's calendar"),
        ("2026-11-24 10:20", "0001-01-01T05:00:00+09:00", "D", "outside Excel's calendar"),
        ("2026-11-24 10:20", "9999-12-31T23:00:00-05:00", "D", "outside Excel's calendar"),
        ("2026-11-24 10:20", "0001-01", "D", "outside Excel's calendar"),
        ("2026-11-24 10:20", "2026-13", "D", "'2026-13' is not a month (use 2026-11)"),
    ],
)
def test_a_date_at_the_calendars_edge_is_a_problem_of_its_row(
    tmp_path: Path, submitted: str, first_heard: str, column: str, reason: str
) -> None:
    parsed = _read(_csv_with_one_odd_row(tmp_path / "survey.csv", submitted, first_heard))
    assert parsed.rows == 9
    assert [(p.row, p.column) for p in parsed.problems] == [(6, column)]
    assert reason in parsed.problems[0].reason


def test_any_unforeseen_failure_converting_a_cell_costs_its_row_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a conversion that fails in a way nobody foresaw, for one value
    def failing(text: str) -> datetime:
        if text == "2026-11-24 10:20":
            raise RuntimeError("surprise")
        return parse_datetime_text(text)

    monkeypatch.setattr(rows, "parse_datetime_text", failing)
    # WHEN a file holding that value in row 6 is read
    parsed = _read(_csv_with_one_odd_row(tmp_path / "survey.csv", "2026-11-24 10:20", ""))
    # THEN row 6 is rejected, naming its column and what went wrong; the other rows are ingested
    assert parsed.rows == 9
    assert [(p.row, p.column, p.value, p.reason) for p in parsed.problems] == [
        (6, "B", "2026-11-24 10:20", "cannot be read (RuntimeError: surprise)")
    ]


def test_number_text_in_a_date_column_is_text_never_an_excel_serial(tmp_path: Path) -> None:
    # GIVEN a CSV (all text) answering "when did you first hear of us?" with a year, a number and a month
    lines = [f"R{n},2026-11-24 10:{n:02d},tv,{when},20s,female,KR,4,9\r\n"
             for n, when in enumerate(["2025", "12", "46350.4", "2026-03", "2026.11", "", "", "", "", ""])]  # fmt: skip
    path = tmp_path / "survey.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    parsed = _read(path)
    # THEN the numbers are problems of their rows, never 1905-07-17; the months are their first days
    assert [(p.row, p.column, p.value) for p in parsed.problems] == [
        (2, "D", "2025"),
        (3, "D", "12"),
        (4, "D", "46350.4"),
    ]
    assert parsed.problems[0].reason == "'2025' is a number, not a date: write a date (2026-11-24) or a month (2026-11)"
    table = pa.concat_tables(pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values())
    assert table.column("first_heard_on").to_pylist()[:2] == [date(2026, 3, 1), date(2026, 11, 1)]


def _workbook_with_date_serial(path: Path, serial: float, epoch: datetime) -> Path:
    workbook = openpyxl.Workbook()
    workbook.epoch = epoch
    sheet = workbook.active
    sheet.title = "응답"
    sheet.append(KOREAN_HEADERS)
    for values in survey_rows(5):
        sheet.append(values)
    sheet["B4"].value = serial  # as a formula like =B3-B2 gone wrong leaves it
    sheet["B4"].number_format = "yyyy-mm-dd hh:mm"
    workbook.save(path)
    return path


@pytest.mark.parametrize("epoch", [openpyxl.utils.datetime.WINDOWS_EPOCH, openpyxl.utils.datetime.MAC_EPOCH])
@pytest.mark.parametrize("serial", [-1, -0.5, -3.25])
def test_both_readers_reject_a_date_serial_below_excels_first_with_one_answer(
    tmp_path: Path, serial: float, epoch: datetime
) -> None:
    # GIVEN a date-formatted cell holding a serial below the calendar's first day (calamine reads a time of
    # day there, openpyxl a day before the epoch)
    path = _workbook_with_date_serial(tmp_path / "x.xlsx", serial, epoch)
    # WHEN both readers read it
    answers = {}
    for budget in (1 << 30, 0):
        parsed = _read(path, budget)
        answers[parsed.reader] = (parsed.rows, [p.as_dict() for p in parsed.problems])
    # THEN they give one answer: row 4 is rejected as a time of day with no date, and nothing lands in 1899
    assert answers["calamine"] == answers["openpyxl-streaming"]
    rows_ingested, problems = answers["calamine"]
    assert rows_ingested == 4
    assert [(p["row"], p["column"]) for p in problems] == [(4, "B")]
    assert "is a time of day with no date (a date serial below 1)" in str(problems[0]["reason"])


@pytest.mark.parametrize("serial", [2958466, 3_000_000, 1e300])
def test_both_readers_reject_a_date_serial_past_excels_last_day(tmp_path: Path, serial: float) -> None:
    path = _workbook_with_date_serial(tmp_path / "x.xlsx", serial, openpyxl.utils.datetime.WINDOWS_EPOCH)
    for budget in (1 << 30, 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openpyxl warns that it reads the cell as #VALUE!
            parsed = _read(path, budget)
        # The value shown differs (calamine gives the number, openpyxl #VALUE!); the answer does not.
        assert (parsed.rows, [(p.row, p.column) for p in parsed.problems]) == (4, [(4, "B")])


@pytest.mark.parametrize(
    ("serial", "date1904", "day"),
    [(1, False, datetime(1900, 1, 1)), (59, False, datetime(1900, 2, 28)), (61, False, datetime(1900, 3, 1)),
     (46350.5, False, datetime(2026, 11, 24, 12)), (2958465, False, datetime(9999, 12, 31)),
     (0, True, datetime(1904, 1, 1)), (2957003, True, datetime(9999, 12, 31))],
)  # fmt: skip
def test_a_serial_number_is_the_day_excel_shows_for_it(serial: float, date1904: bool, day: datetime) -> None:
    assert excel_calendar.from_serial(serial, date1904) == day


@pytest.mark.parametrize(
    ("serial", "date1904"), [(0.5, False), (2958466, False), (-1, True), (2957004, True), (float("nan"), False)]
)
def test_a_serial_outside_the_workbooks_calendar_is_refused_saying_its_range(serial: float, date1904: bool) -> None:
    with pytest.raises(ValueError, match=r"is not a date Excel can hold \(serial numbers \d+ to \d+\)"):
        excel_calendar.from_serial(serial, date1904)
