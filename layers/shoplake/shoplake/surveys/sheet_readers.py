"""The two ways a sheet's rows are read: calamine (fast, holds the sheet) and openpyxl (streaming).

Both take the workbook's sheets as `workbook_facts` lists them and a sheet's position in that list,
never its name: a crafted workbook may give a hidden sheet the visible one's name. Both yield
(row number, row) from row 1 up, numbered by `r` as `row_order` says (rows out of order come by
number; a number written twice is refused), each row of raw cells that `cells.canonical_row` puts
in one shared form; where openpyxl reads a cell otherwise than calamine and Excel do, the streaming
reader is corrected here:

- text escapes `_xHHHH_` (ECMA-376 Part 1, 22.9.2.19 ST_Xstring: `_x000D_` is a carriage return,
  `_x005F_` a literal underscore) are decoded in shared strings, inline strings and formula text;
  openpyxl only drops `x005F_`;
- a date- or duration-formatted number is made a value by calamine's arithmetic (`excel_moment`): openpyxl
  rounds halves of a millisecond to even, gives a number below 0 as a day before 1900 and one beyond the
  calendar as `#VALUE!`; an error cell (`#DIV/0!`) is empty, as calamine gives it;
- a workbook counts dates from 1904 only when `workbookPr date1904` is `1` or `true` (xsd:boolean, as
  calamine reads it: `declares_1904`); openpyxl takes any other text but `0`/`false` (`yes`) for true;
- an ISO 8601 date cell (`t="d"`, 18.18.11) is read as calamine reads it (chrono's `FromStr`): a date
  and time with seconds, a date, or a time of day (`09:05:41`); anything else, a zone included, stays
  text (`rows` reads the zone from it); openpyxl drops the zone, and raises on text that is no date;
- the built-in CJK date formats (numFmtId 27-36 and 50-58, ECMA-376 Part 1, 18.8.30; for ko-KR
  `yyyy"년" mm"월" dd"일"`, `h"시" mm"분"` and the like) are dates, as Excel and calamine read them;
  openpyxl knows no format code for them and gives the number;
- a damaged cell is read as calamine reads it: a number's text as Rust's `f64` parses it (`NaN`, `inf`),
  else the text; a boolean's `true`/`false`/`1`/`0` (any case); a shared string's negative index is an
  IndexError, as one past the table is. A cell calamine cannot read (`t="b"` holding `yes`, an unknown
  type or error) hands the sheet to the streaming reader after the last row number calamine gave, and
  what that cannot read either refuses the file (`workbook._lazy`). One damage still reads two ways: a
  shared string index that is no number (`<v>abc</v>`) is string 0 to calamine and refuses the file when streamed.

The property test `tests/unit/test_survey_reader_equivalence.py` holds the two readers to one answer.
"""

from __future__ import annotations

import heapq
import math
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml.ElementTree import fromstring
from openpyxl.cell.text import Text
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.functions import iterparse

from shoplake.surveys.row_order import row_runs, scan_rows

Row = Sequence[object]
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHARED_STRINGS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_VALUE = f"{{{_MAIN}}}v"
_INLINE_STRING = f"{{{_MAIN}}}is"
_EPOCH_1900 = datetime(1899, 12, 30)
_MS_PER_DAY = 86_400_000
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ESCAPE_BYTES = re.compile(rb"x[0-9A-Fa-f]{4}_")
# What Rust's `f64::from_str` (calamine's reading of a number cell) accepts; no spaces, no `_`.
_RUST_FLOAT = re.compile(r"[+-]?(?:(?i:inf|infinity|nan)|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
# chrono's `NaiveDateTime`, `NaiveDate` and `NaiveTime` `FromStr`, which calamine tries in turn on a `t="d"` cell.
_ISO_DAY = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_ISO_DATETIME = re.compile(_ISO_DAY + r"T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?")
_ISO_DATE = re.compile(_ISO_DAY)
_ISO_TIME = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?")
_BOOLEANS = {"1": True, "true": True, "0": False, "false": False}
# ECMA-376 Part 1, 18.8.30: the built-in number formats of East Asian locales that are dates or times.
CJK_DATE_FORMAT_IDS = frozenset((*range(27, 37), *range(50, 59)))
# openpyxl warns of each such cell; the number is kept (see `_SheetParser`), and `rows` says what is wrong.
warnings.filterwarnings("ignore", message=r"Cell \S+ is marked as a date", category=UserWarning, module="openpyxl")


class MissingPart(LookupError):  # noqa: N818 - a missing part, as KeyError is a missing key
    """The part a sheet's relationship names is not in the package; the message is the part's name."""


@dataclass(frozen=True)
class SheetFacts:
    """One sheet as the workbook part declares it, in workbook order.

    `name` as written (Excel keeps names unique, a crafted file need not); `part` the ZIP member its
    relationship names (`xl/worksheets/sheet1.xml`); `cells` rows x columns of its `<dimension ref>` (0 if
    the part is missing, -1 if it declares none); `state` `visible`, `hidden` or `veryHidden`.
    """

    name: str
    part: str
    cells: int
    state: str


def unescape(text: str) -> str:
    """Text with its `_xHHHH_` escapes decoded (`a_x000D_b` -> `a\\rb`); an escaped surrogate stays as written."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(
        lambda m: m.group(0) if 0xD800 <= int(m.group(1), 16) <= 0xDFFF else chr(int(m.group(1), 16)), text
    )


def declares_1904(workbook_part: Any) -> bool:
    """Whether the parsed `xl/workbook.xml` counts dates from 1904: its `workbookPr date1904` is `1` or `true`.

    ECMA-376 Part 1, 18.2.28 types it xsd:boolean, whose true is `1` or `true`; anything else (`yes`,
    `TRUE`) is invalid and taken, as calamine takes it, for the default: 1900.
    """
    properties = workbook_part.find(f"{{{_MAIN}}}workbookPr")
    return properties is not None and properties.get("date1904") in ("1", "true")


def calamine_rows(path: Path, facts: list[SheetFacts], position: int, *, max_cells: int) -> Iterator[tuple[int, Row]]:
    """The sheet at `position`, read whole by calamine: (row number, row) from row 1 up (an empty row is `()`).

    calamine finds a sheet by name even when asked by position: `workbook.open_workbook` sends a
    workbook with two sheets of one name to `openpyxl_rows`, and so does this function when calamine
    lists the sheets otherwise than `facts` do. calamine holds the sheet as one dense range, first cell
    to last: a sheet whose cells span more than `max_cells` of the grid (`RowScan.cells_bound`, however
    few they are) goes to `openpyxl_rows` too. Rows are numbered as `row_order` says (RowOrderError).
    """
    try:
        # refuses what calamine would read silently (a row written twice), and bounds the range it would make
        scan = scan_rows(path, facts[position].part)
    except KeyError:
        raise MissingPart(facts[position].part) from None
    if scan.cells_bound > max_cells:
        yield from openpyxl_rows(path, facts, position)
        return
    last = 0
    try:
        data = _calamine_sheet(path, facts, position)
        if data is not None:
            for number, row in enumerate(_from_row_one(data), start=1):
                yield number, row
                last = number
            return
    except BaseException as error:
        if not _beyond_calamine(error):
            raise
        # calamine cannot read the sheet, or make a Python value of some cell (a duration beyond timedelta,
        # a cell type it does not know): the streaming reader goes on after the last row NUMBER calamine gave.
    for number, row in openpyxl_rows(path, facts, position):
        if number > last:
            yield number, row


def _calamine_sheet(path: Path, facts: list[SheetFacts], position: int) -> Any:
    """calamine's range for the sheet at `position`; None when calamine lists the sheets otherwise than `facts`."""
    from python_calamine import CalamineWorkbook, SheetVisibleEnum  # noqa: PLC0415 - only the fast path needs it

    workbook = CalamineWorkbook.from_path(str(path))
    listed = workbook.sheets_metadata
    visible = {"visible": SheetVisibleEnum.Visible, "hidden": SheetVisibleEnum.Hidden}
    if len(listed) != len(facts) or any(
        m.name != f.name or m.visible != visible.get(f.state, SheetVisibleEnum.VeryHidden)
        for m, f in zip(listed, facts, strict=True)
    ):
        workbook.close()
        return None
    return workbook.get_sheet_by_index(position)


def _beyond_calamine(error: BaseException) -> bool:
    """Whether `error` is calamine failing on the file (its own errors, a value Python cannot hold, a Rust panic)."""
    from python_calamine import CalamineError  # noqa: PLC0415 - only the fast path needs it

    # pyo3 raises a Rust panic (chrono's range, on a date-formatted -inf) as a BaseException of no importable class.
    panic = type(error).__name__ == "PanicException"
    return panic or isinstance(error, CalamineError | OverflowError | ValueError)


def _from_row_one(data: Any) -> Iterator[Row]:
    # calamine starts at the first used cell; Excel's row numbers start at 1.
    first_row, first_col = data.start or (0, 0)
    for _ in range(first_row):
        yield ()
    if first_col:
        blank: Row = (None,) * first_col
        for row in data.iter_rows():
            yield (*blank, *row)
    else:
        yield from data.iter_rows()


class _SheetParser(WorkSheetParser):  # type: ignore[misc]  # openpyxl is untyped
    """openpyxl's streaming sheet parser, reading text and ISO date cells as calamine does (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._1904 = self.epoch != _EPOCH_1900

    def parse_cell(self, element: Any) -> dict[str, Any]:
        kind = element.get("t")
        stored = element.find(_VALUE)
        text = stored.text if stored is not None else None
        if kind == "d":
            element.set("t", "str")  # read as its text, never through openpyxl's zone-dropping parser
        elif kind in (None, "n", "b") and text:
            stored.text = "0"  # openpyxl's int() refuses what calamine reads (NaN, TRUE) and reads what it does not
        elif kind == "s" and text and text.lstrip().startswith("-"):
            raise IndexError(f"shared string {text} is not in the table")
        cell: dict[str, Any] = super().parse_cell(element)
        value = cell["value"]
        if kind == "e":
            cell["value"] = None  # calamine gives an error cell (#DIV/0!) as an empty one
        elif kind == "b" and text:
            if text.strip().lower() not in _BOOLEANS:
                raise ValueError(f"a boolean cell holds {text[:20]!r}")
            cell["value"] = _BOOLEANS[text.strip().lower()]
        elif kind in (None, "n") and text:
            cell["value"] = self._number(text, cell["data_type"], isinstance(value, timedelta))
        elif kind == "str" and isinstance(value, str):
            cell["value"] = unescape(value)
        elif kind == "inlineStr" and isinstance(value, str) and "_x" in value:
            # openpyxl joins the runs as written; an escape is decoded within its own run.
            cell["value"] = _plain_text(Text.from_tree(element.find(_INLINE_STRING)))
        elif kind == "d" and isinstance(value, str):
            cell["value"] = iso_moment(value)
        return cell

    def _number(self, text: str, data_type: str, duration: bool) -> object:
        if not _RUST_FLOAT.fullmatch(text):
            return text  # calamine keeps a number it cannot read as its text
        if data_type in ("d", "e"):  # a date- or duration-formatted number, as calamine makes it (`excel_moment`)
            return excel_moment(float(text), self._1904, duration)
        return float(text)


def iso_moment(text: str) -> object:
    """An ISO 8601 cell's text (`t="d"`) as calamine reads it: a naive datetime, or a time of day; else the text.

    calamine tries chrono's `NaiveDateTime` (`2026-11-20T09:05:41.5`, seconds required), `NaiveDate`
    (`2026-11-20`, as midnight) and `NaiveTime` (`09:05`, `9:05:41`); a zone, a space for `T`, or a
    field out of range leaves the text as written.
    """
    try:
        if match := _ISO_DATETIME.fullmatch(text):
            year, month, day, hour, minute, second, fraction = match.groups()
            return datetime.combine(date(int(year), int(month), int(day)), _clock(hour, minute, second, fraction))
        if match := _ISO_DATE.fullmatch(text):
            year, month, day = (int(part) for part in match.groups())
            return datetime(year, month, day)
        if match := _ISO_TIME.fullmatch(text):
            return _clock(*match.groups())
    except ValueError:  # a field out of range: 2026-02-30, 25:00
        pass
    return text


def _clock(hour: str, minute: str, second: str | None, fraction: str | None) -> time:
    return time(int(hour), int(minute), int(second or 0), int((fraction or "0")[:6].ljust(6, "0")))


def _whole_ms(days: float) -> int:
    """Days as whole milliseconds, halves rounded away from zero (Rust's `f64::round`, which calamine uses)."""
    ms = days * float(_MS_PER_DAY)
    if math.isnan(ms):
        return 0  # Rust's `as i64` makes NaN 0: calamine gives a date-formatted NaN as 1899-12-30
    return math.floor(ms + 0.5) if ms >= 0 else -math.floor(-ms + 0.5)


def excel_moment(serial: float, date1904: bool, duration: bool) -> object:
    """A date- or duration-formatted number as calamine (`ExcelDateTime::as_datetime`/`as_duration`) gives it.

    A duration is a timedelta; a number below 1 a time of day; any other a naive datetime (1900 workbooks
    count the 1900-02-29 that never was). Each is rounded to the millisecond, halves away from zero. A
    number no datetime or timedelta can hold stays the number.
    """
    try:
        if duration:
            return timedelta(milliseconds=_whole_ms(serial))
        days = serial + 1462 if date1904 else serial
        ms = _whole_ms(days if days >= 60 else days + 1)
        if serial < 1:  # the time of day, however far before the calendar the day is (chrono's range is wider)
            return (datetime.min + timedelta(milliseconds=ms % _MS_PER_DAY)).time()
        return _EPOCH_1900 + timedelta(milliseconds=ms)
    except (OverflowError, ValueError):
        return serial


def _plain_text(text: Text) -> str:
    """A string item's text: its runs joined, phonetic guides left out, each run's escapes decoded on its own."""
    runs = [text.plain, *(run.t for run in text.formatted)]
    return "".join(unescape(run) for run in runs if run is not None)


def _shared_strings(path: Path, read_by_openpyxl: list[str]) -> list[str]:
    """The workbook's shared strings as plain text (runs joined, phonetic guides left out), escapes decoded.

    openpyxl's own table is taken when the part holds nothing it would misread (no `x005F_` or `_xHHHH_`):
    reading the part again costs as much as openpyxl's reading of it.
    """
    with zipfile.ZipFile(path) as archive:
        rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
        targets = [r.get("Target") for r in rels if r.get("Type") == _SHARED_STRINGS]
        if not targets:
            return read_by_openpyxl
        target = str(targets[0]).lstrip("/")
        member = target if target.startswith("xl/") else f"xl/{target}"
        if member not in archive.namelist():
            return read_by_openpyxl
        with archive.open(member) as source:
            tail = b""
            while chunk := source.read(1 << 20):
                if _ESCAPE_BYTES.search(tail + chunk):
                    break
                tail = chunk[-6:]
            else:
                return read_by_openpyxl
        strings: list[str] = []
        with archive.open(member) as source:
            for _, node in iterparse(source):
                if node.tag == f"{{{_MAIN}}}si":
                    strings.append(_plain_text(Text.from_tree(node)))
                    node.clear()
        return strings


def _date_formats(workbook: Any) -> set[int]:
    """The cell styles that are dates: openpyxl's, and those of a built-in CJK date format it does not know.

    openpyxl renumbers every custom format past the built-ins (164 on), so a style left with an id of
    `CJK_DATE_FORMAT_IDS` uses the built-in, which has no format code in the file.
    """
    cjk = {i for i, style in enumerate(workbook._cell_styles) if style.numFmtId in CJK_DATE_FORMAT_IDS}
    return set(workbook._date_formats) | cjk


def _1904(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return declares_1904(fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True))


def openpyxl_rows(path: Path, facts: list[SheetFacts], position: int) -> Iterator[tuple[int, Row]]:
    """The sheet at `position`, streamed by openpyxl from the part its relationship names (flat memory).

    Yields (row number, row) from row 1 up, a row the sheet leaves out as `()`; rows written out of order
    come in the order of their numbers, one parser per ascending run (`row_order`). Raises MissingPart
    when the part is not in the package, RowOrderError as `row_runs` does.
    """
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        part = facts[position].part
        worksheet = next((s for s in workbook._sheets if getattr(s, "_worksheet_path", "").lstrip("/") == part), None)
        if worksheet is None:
            raise MissingPart(part)
        runs = row_runs(path, part)
        shared = _shared_strings(path, worksheet._shared_strings)
        epoch = MAC_EPOCH if _1904(path) else WINDOWS_EPOCH
        # What ReadOnlyWorksheet._cells_by_row does, with our parser (openpyxl 3.1's read-only internals).
        with ExitStack() as sources:
            streams = []
            for first, end in runs:
                parser = _SheetParser(
                    sources.enter_context(worksheet._get_source()),
                    shared,
                    data_only=True,
                    epoch=epoch,
                    date_formats=_date_formats(workbook),
                    timedelta_formats=workbook._timedelta_formats,
                )
                streams.append(islice(parser.parse(), first, end))
            expected = 1
            for number, cells in heapq.merge(*streams, key=lambda numbered: numbered[0]):
                for empty in range(expected, number):
                    yield empty, ()  # rows the sheet leaves out are empty
                row: list[object] = [None] * max((c["column"] for c in cells), default=0)
                for cell in cells:
                    row[cell["column"] - 1] = cell["value"]
                yield number, row
                expected = number + 1
    finally:
        workbook.close()
