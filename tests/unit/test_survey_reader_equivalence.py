"""Property: the reader chosen for a file's size never changes the answer.

Hypothesis writes workbooks as raw SpreadsheetML (ECMA-376 Part 1: shared strings 18.4, inline and rich
text 18.3.1.53/18.4.4, cell types 18.18.11 including ISO 8601 `t="d"`, `date1904` 18.2.28, number formats
18.8.30), with what openpyxl cannot write: ISO date cells with and without a zone, inline strings, rich
text runs, numbers stored as text, `_xHHHH_` escapes, serial dates under date and non-date formats in 1900
and 1904 workbooks, the built-in CJK date and time formats (numFmtId 27-36, 50-58, no format code written),
ISO times of day, and damaged cells a reader may still read (`NaN`, `inf`, ` 3 `, `t="b"` holding `TRUE`).
Each is read once with room for calamine and once streamed through openpyxl, and the
two must give the same Parquet, the same row count and the same problems.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import time
from pathlib import Path
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.sample_surveys import KOREAN_HEADERS
from shoplake.surveys.forms import Limits, all_forms
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.workbook import Refused, column_letter, open_workbook
from tests.spreadsheetml import MAIN, package_parts, write_parts

FORMS = all_forms()
# Cell styles: 0 General, 1 a date (14), 2 a date and time (22), 3 Korean Excel's dotted date and time,
# 4 text (@), 5 a Korean long date with 오전/오후, 6 a number with two decimals, 7 a duration; 8-11 the
# built-in CJK formats ko-KR shows as `yyyy"년" mm"월" dd"일"` (31), `h"시" mm"분"` (32), `h"시" mm"분" ss"초"`
# (33) and `yyyy-mm-dd` (57) (ECMA-376 Part 1, 18.8.30), which the file names by id alone.
_FORMATS = {164: "yyyy. m. d. h:mm", 165: '[$-412]yyyy"년" m"월" d"일" AM/PM h:mm', 166: "[h]:mm:ss"}
_XFS = (0, 14, 22, 164, 49, 165, 2, 166, 31, 32, 33, 57)
_TIME_XFS = (10, 9, 2)  # styles a time of day is typed under: 33, 32, a date and time

# A cell as written: (type attribute or None, style, inner XML).
Cell = tuple[str | None, int, str]

# Text XML 1.0 can hold (no control characters but tab and line breaks, no lone surrogates).
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n", blacklist_characters="\ufffe\uffff"),
    max_size=12,
)


def _t(text: str) -> str:
    return f'<t xml:space="preserve">{escape(text)}</t>'


@st.composite
def _text_cell(draw: st.DrawFn, text: str, strings: list[str]) -> Cell:
    """`text` as a shared string, an inline string, a rich text run list, or a formula's cached text."""
    how = draw(st.sampled_from(["shared", "inline", "rich", "str"]))
    if how == "shared":
        strings.append(_t(text))
        return ("s", 0, f"<v>{len(strings) - 1}</v>")
    if how == "inline":
        return ("inlineStr", 0, f"<is>{_t(text)}</is>")
    if how == "rich":
        cut = draw(st.integers(0, len(text)))
        runs = f"<r><rPr><b/></rPr>{_t(text[:cut])}</r><r>{_t(text[cut:])}</r>"
        strings.append(runs)
        return ("s", 0, f"<v>{len(strings) - 1}</v>")
    return ("str", 0, f'<f>T("x")</f><v>{escape(text)}</v>')


def _number_text(number: float) -> str:
    return repr(number) if not number.is_integer() else str(int(number))


@st.composite
def _moment_cell(draw: st.DrawFn, strings: list[str]) -> Cell:
    """A date and time the ways workbooks hold one: a serial under some format, ISO text (`t="d"`), or text."""
    serial = draw(st.floats(min_value=1, max_value=60_000, allow_nan=False).map(lambda s: round(s * 86400) / 86400))
    how = draw(st.sampled_from(["serial", "serial-time", "iso", "iso-zone", "iso-date", "iso-time", "text"]))
    if how.startswith("serial"):  # serial-time: a time of day alone, a serial below 1 under a time format
        styles, value = (range(len(_XFS)), serial) if how == "serial" else (_TIME_XFS, serial % 1)
        return (None, draw(st.sampled_from(styles)), f"<v>{_number_text(value)}</v>")
    year, month, day = draw(st.integers(1905, 2100)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    day_text = f"{year:04d}-{month:02d}-{day:02d}"
    if how == "iso-date":
        return ("d", draw(st.sampled_from([0, 1, 2])), f"<v>{day_text}</v>")
    if how == "iso-time":
        clock = draw(st.sampled_from([f"{hour:02d}:{minute:02d}:{second:02d}", f"{hour}:{minute:02d}", "24:00:00"]))
        return ("d", draw(st.sampled_from([0, 2, 10])), f"<v>{clock}</v>")
    moment = f"{day_text}T{hour:02d}:{minute:02d}:{second:02d}"
    if how == "iso":
        return ("d", draw(st.sampled_from([0, 2, 3])), f"<v>{moment}</v>")
    if how == "iso-zone":
        zone = draw(st.sampled_from(["Z", ".000Z", "+09:00", "-05:00", ".5+09:00"]))
        return ("d", draw(st.sampled_from([0, 2, 3])), f"<v>{moment}{zone}</v>")
    text = draw(st.sampled_from([f"{day_text} {hour}:{minute:02d}", f"{year}. {month}. {day}. 오후 3:05:00"]))
    return draw(_text_cell(text, strings))


@st.composite
def _number_cell(draw: st.DrawFn, strings: list[str]) -> Cell:
    """A number, typed or stored as text (padded, with a decimal point, or not a number at all)."""
    number = draw(st.one_of(st.integers(-3, 12).map(float), st.floats(-1e6, 1e6, allow_nan=False), st.just(1e20)))
    how = draw(st.sampled_from(["n", "n", "text", "bool", "error", "damaged"]))
    if how == "n":
        return (None, draw(st.sampled_from([0, 6, 1, 8])), f"<v>{_number_text(number)}</v>")
    if how == "bool":
        return ("b", 0, f"<v>{draw(st.sampled_from(['0', '1', 'TRUE', 'true', 'False']))}</v>")
    if how == "damaged":  # a number's text no writer of Excel's writes, which calamine still reads its own way
        text = draw(st.sampled_from(["NaN", "inf", "-inf", " 3 ", "1_000", "+3", "3.", ".5", "1e400", "0x10"]))
        return (draw(st.sampled_from([None, "n"])), draw(st.sampled_from([0, 6, 1, 8])), f"<v>{text}</v>")
    if how == "error":
        return ("e", 0, "<v>#DIV/0!</v>")
    text = draw(st.sampled_from([_number_text(number), f" {_number_text(number)} ", f"{number:,.2f}", "5점"]))
    return draw(_text_cell(text, strings))


@st.composite
def _any_text_cell(draw: st.DrawFn, strings: list[str], choices: list[str]) -> Cell:
    text = draw(st.one_of(st.sampled_from(choices), _TEXT, st.just("a_x000D_b")))
    if draw(st.booleans()):
        return draw(_text_cell(text, strings))
    return draw(_number_cell(strings))


@st.composite
def workbooks(draw: st.DrawFn) -> dict[str, bytes]:
    """The parts of a one-sheet workbook: a header row, then 1 to 6 rows of generated cells."""
    strings: list[str] = []
    rows: list[list[Cell | None]] = [[draw(_text_cell(header, strings)) for header in KOREAN_HEADERS]]
    for _ in range(draw(st.integers(1, 6))):
        row: list[Cell | None] = [
            draw(_any_text_cell(strings, ["R1", "R2", "00123"])),
            draw(_moment_cell(strings)),
            draw(_any_text_cell(strings, ["지하철", "TV", " 지인 ", "tv"])),
            draw(st.one_of(_moment_cell(strings), _any_text_cell(strings, ["2026-11", "2026-13"]))),
            draw(_any_text_cell(strings, ["20대", "30대"])),
            draw(_any_text_cell(strings, ["여성", "남"])),
            draw(_any_text_cell(strings, ["KR", "한국"])),
            draw(st.none() | _any_text_cell(strings, ["서울"])),
            draw(st.none() | _any_text_cell(strings, ["상의, 신발", "가방"])),
            draw(_number_cell(strings)),
            draw(_number_cell(strings)),
            draw(st.none() | _any_text_cell(strings, ["좋아요", "=1+1"])),
        ]
        rows.append(row)
    date1904 = draw(st.booleans())
    # Rows are numbered by `r`, whatever order they are written in (a crafted or badly merged file's).
    order = draw(st.permutations(range(len(rows))) | st.just(range(len(rows))))
    return _parts(rows, strings, date1904, order)


def _parts(
    rows: list[list[Cell | None]], strings: list[str], date1904: bool, order: Sequence[int] = ()
) -> dict[str, bytes]:
    sheet_rows = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{column_letter(i)}{number}"{f" t={chr(34)}{c[0]}{chr(34)}" if c[0] else ""} s="{c[1]}">{c[2]}</c>'
            for i, c in enumerate(row)
            if c is not None
        )
        sheet_rows.append(f'<row r="{number}">{cells}</row>')
    sheet_rows = [sheet_rows[i] for i in order] if order else sheet_rows
    last = f"{column_letter(len(KOREAN_HEADERS) - 1)}{len(rows)}"
    formats = "".join(
        f'<numFmt numFmtId="{k}" formatCode="{escape(v, {chr(34): "&quot;"})}"/>' for k, v in _FORMATS.items()
    )
    xfs = "".join(
        f'<xf numFmtId="{f}" fontId="0" fillId="0" borderId="0" xfId="0"{' applyNumberFormat="1"' if f else ""}/>'
        for f in _XFS
    )
    return package_parts(
        sheet=f'<worksheet xmlns="{MAIN}"><dimension ref="A1:{last}"/>'
        f"<sheetData>{''.join(sheet_rows)}</sheetData></worksheet>",
        shared_strings=f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si>{s}</si>" for s in strings)
        + "</sst>",
        cell_formats=f'<cellXfs count="{len(_XFS)}">{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>',
        number_formats=f'<numFmts count="{len(_FORMATS)}">{formats}</numFmts>',
        workbook_properties=f'<workbookPr date1904="{int(date1904)}"/>',
    )


def _read(path: Path, budget: int) -> Parsed | str:
    try:
        return read_survey(path, path.name, f"inbox/{path.name}", FORMS, budget)
    except Refused as refusal:
        return f"refused: {refusal.reason}"


def _answer(parsed: Parsed | str) -> object:
    """What the uploader and the lake get: Parquet per day, rows, problems (or the refusal)."""
    if isinstance(parsed, str):
        return parsed
    tables = {day: pq.read_table(io.BytesIO(body)) for day, body in parsed.partitions.items()}
    return (
        {day: table.to_pylist() for day, table in tables.items()},
        {day: table.schema for day, table in tables.items()},
        parsed.rows,
        [p.as_dict() for p in parsed.problems],
    )


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date:UserWarning")
@pytest.mark.filterwarnings("ignore:Workbook contains no default style:UserWarning")
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=workbooks())
def test_both_readers_give_the_same_parquet_rows_and_problems(tmp_path: Path, parts: dict[str, bytes]) -> None:
    # GIVEN a generated workbook
    path = write_parts(parts, tmp_path / "generated.xlsx")
    # WHEN it is read with room for the fast reader, and with none
    fast, streamed = _read(path, 1 << 30), _read(path, 0)
    # THEN both readers ran, and the lake and the uploader get the same answer from each
    if not isinstance(fast, str) and not isinstance(streamed, str):
        assert (fast.reader, streamed.reader) == ("calamine", "openpyxl-streaming")
    expected, got = _answer(fast), _answer(streamed)
    if expected != got and isinstance(expected, tuple) and isinstance(got, tuple):
        problems = [(a, b) for a, b in zip(expected[3], got[3], strict=False) if a != b]
        rows = [(a, b) for a, b in zip(expected[0].items(), got[0].items(), strict=False) if a != b]
        assert (problems, rows) == ([], [])
    assert expected == got


def test_the_generated_workbooks_are_read_at_all(tmp_path: Path) -> None:
    # GIVEN a workbook of plain cells as the generator writes them (the property above must not be vacuous)
    strings: list[str] = []

    def shared(text: str) -> Cell:
        strings.append(_t(text))
        return ("s", 0, f"<v>{len(strings) - 1}</v>")

    header: list[Cell | None] = [shared(h) for h in KOREAN_HEADERS]
    row: list[Cell | None] = [shared("R1"), ("d", 0, "<v>2026-11-20T09:00:00.000Z</v>"), shared("TV"), None]
    row += [shared("20대")]
    row += [shared("여성"), shared("KR"), None, None, (None, 0, "<v>5</v>"), (None, 0, "<v>9</v>"), None]
    path = write_parts(_parts([header, row], strings, date1904=False), tmp_path / "plain.xlsx")
    # THEN both readers take its one row, at the instant written
    for budget in (1 << 30, 0):
        parsed = _read(path, budget)
        assert not isinstance(parsed, str)
        table = pa.concat_tables(pq.read_table(io.BytesIO(b)) for b in parsed.partitions.values())
        assert table.column("submitted_at").to_pylist()[0].isoformat() == "2026-11-20T09:00:00+00:00"


def _cells(tmp_path: Path, cells: list[Cell | None]) -> list[tuple[object, ...]]:
    """The second row's cells as each reader gives them, under the header row."""
    header: list[Cell | None] = [("s", 0, f"<v>{i}</v>") for i in range(len(KOREAN_HEADERS))]
    path = write_parts(_parts([header, cells], [_t(h) for h in KOREAN_HEADERS], False), tmp_path / "one.xlsx")
    read = []
    for budget in (1 << 30, 0):
        sheets, _ = open_workbook(path, Limits(), budget, tmp_path)
        read.append(tuple(list(sheets[0].rows)[1][1]))
    return read


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cells_openpyxl_reads_otherwise_are_read_as_calamine_and_excel_read_them(tmp_path: Path) -> None:
    # GIVEN escapes in text, an error, negative and huge date-formatted numbers, and a duration beyond timedelta
    cells: list[Cell | None] = [
        ("inlineStr", 0, "<is><t>a_x000D_b</t></is>"),  # ECMA-376 ST_Xstring: a carriage return
        ("str", 0, "<f>x</f><v>x_x005F_x000D_</v>"),  # an escaped underscore: the text _x000D_
        ("e", 0, "<v>#DIV/0!</v>"),
        (None, 2, "<v>-0.25</v>"),  # a date-formatted number below 0: its time of day
        (None, 2, "<v>1e20</v>"),  # beyond the calendar: the number
        (None, 7, "<v>1e20</v>"),  # a duration calamine cannot make a timedelta of
    ]
    fast, streamed = _cells(tmp_path, cells)
    # THEN both readers give what Excel shows, and the fast reader does not stop at the duration
    assert fast == streamed
    assert fast[:5] == ("a\rb", "x_x000D_", None, time(18, 0), 1e20)
