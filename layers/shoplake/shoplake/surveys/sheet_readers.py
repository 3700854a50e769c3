"""The two ways a sheet's rows are read: calamine (fast, holds the sheet) and openpyxl (streaming).

Both take the workbook's sheets as `workbook_facts` lists them and a sheet's position in that list,
never its name: a crafted workbook may give a hidden sheet the visible one's name. Both yield
rows of raw cells that `cells.canonical_row` puts in one shared form; where openpyxl reads a cell
otherwise than calamine and Excel do, the streaming reader is corrected here:

- text escapes `_xHHHH_` (ECMA-376 Part 1, 22.9.2.19 ST_Xstring: `_x000D_` is a carriage return,
  `_x005F_` a literal underscore) are decoded in shared strings, inline strings and formula text;
  openpyxl only drops `x005F_`;
- a date- or duration-formatted number is made a value by calamine's arithmetic (`excel_moment`): openpyxl
  rounds halves of a millisecond to even, gives a number below 0 as a day before 1900 and one beyond the
  calendar as `#VALUE!`; an error cell (`#DIV/0!`) is empty, as calamine gives it;
- an ISO 8601 date cell (`t="d"`, 18.18.11) is the naive datetime it writes when it has no zone, and
  its text when it has one (`rows` reads the zone from it); openpyxl drops the zone, and raises on
  text that is no date.

The property test `tests/unit/test_survey_reader_equivalence.py` holds the two readers to one answer.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml.ElementTree import fromstring
from openpyxl.cell.text import Text
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.functions import iterparse

Row = Sequence[object]
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHARED_STRINGS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_VALUE = f"{{{_MAIN}}}v"
_INLINE_STRING = f"{{{_MAIN}}}is"
_EPOCH_1900 = datetime(1899, 12, 30)
_MS_PER_DAY = 86_400_000
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ESCAPE_BYTES = re.compile(rb"x[0-9A-Fa-f]{4}_")
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


def calamine_rows(path: Path, facts: list[SheetFacts], position: int) -> Iterator[Row]:
    """The sheet at `position`, read whole by calamine, row by row from row 1 (an empty row is `()`).

    calamine finds a sheet by name even when asked by position: `workbook.open_workbook` sends a
    workbook with two sheets of one name to `openpyxl_rows`, and so does this function when calamine
    lists the sheets otherwise than `facts` do.
    """
    from python_calamine import CalamineWorkbook, SheetVisibleEnum  # noqa: PLC0415 - only the fast path needs it

    workbook = CalamineWorkbook.from_path(str(path))
    listed = workbook.sheets_metadata
    visible = {"visible": SheetVisibleEnum.Visible, "hidden": SheetVisibleEnum.Hidden}
    if len(listed) != len(facts) or any(
        m.name != f.name or m.visible != visible.get(f.state, SheetVisibleEnum.VeryHidden)
        for m, f in zip(listed, facts, strict=True)
    ):
        workbook.close()
        yield from openpyxl_rows(path, facts, position)
        return
    data = workbook.get_sheet_by_index(position)
    read = 0
    try:
        for row in _from_row_one(data):
            yield row
            read += 1
    except (OverflowError, ValueError):
        # calamine cannot make a Python value of some cell (a duration beyond the range of timedelta):
        # the streaming reader goes on from the row calamine stopped at, and reads that cell as a number.
        for number, row in enumerate(openpyxl_rows(path, facts, position)):
            if number >= read:
                yield row


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
        if kind == "d":
            element.set("t", "str")  # read as its text, never through openpyxl's zone-dropping parser
        cell: dict[str, Any] = super().parse_cell(element)
        value = cell["value"]
        if kind == "e":
            cell["value"] = None  # calamine gives an error cell (#DIV/0!) as an empty one
        elif kind in (None, "n") and cell["data_type"] in ("d", "e"):
            # A date- or duration-formatted number, made a value as calamine makes it (see `excel_moment`).
            cell["value"] = excel_moment(float(element.findtext(_VALUE)), self._1904, isinstance(value, timedelta))
        elif kind == "str" and isinstance(value, str):
            cell["value"] = unescape(value)
        elif kind == "inlineStr" and isinstance(value, str) and "_x" in value:
            # openpyxl joins the runs as written; an escape is decoded within its own run.
            cell["value"] = _plain_text(Text.from_tree(element.find(_INLINE_STRING)))
        elif kind == "d" and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return cell
            if moment.tzinfo is None:
                cell["value"] = moment
        return cell


def _whole_ms(days: float) -> int:
    """Days as whole milliseconds, halves rounded away from zero (Rust's `f64::round`, which calamine uses)."""
    ms = days * float(_MS_PER_DAY)
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


def openpyxl_rows(path: Path, facts: list[SheetFacts], position: int) -> Iterator[Row]:
    """The sheet at `position`, streamed by openpyxl from the part its relationship names (flat memory).

    Rows come from row 1 (a row the sheet leaves out is `()`). Raises MissingPart when the part is not
    in the package.
    """
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        part = facts[position].part
        worksheet = next((s for s in workbook._sheets if getattr(s, "_worksheet_path", "").lstrip("/") == part), None)
        if worksheet is None:
            raise MissingPart(part)
        # What ReadOnlyWorksheet._cells_by_row does, with our parser (openpyxl 3.1's read-only internals).
        with worksheet._get_source() as source:
            parser = _SheetParser(
                source,
                _shared_strings(path, worksheet._shared_strings),
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            expected = 1
            for number, cells in parser.parse():
                for _ in range(expected, number):
                    yield ()  # rows the sheet leaves out are empty
                row: list[object] = [None] * max((c["column"] for c in cells), default=0)
                for cell in cells:
                    row[cell["column"] - 1] = cell["value"]
                yield row
                expected = number + 1
    finally:
        workbook.close()
