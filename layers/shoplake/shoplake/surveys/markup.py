"""The uploader's own file back, each rejected cell highlighted with a comment naming the rule.

The copy is an Excel workbook made with openpyxl. Its first sheet (`MARKUP_SHEET`) says what to do and
lists every problem (row, column, header, value, rule); on the answers sheet each rejected cell has
Excel's "Bad" style (light red fill, dark red text) and a comment naming the rule. When some rows were
ingested, those rows are emptied in the copy, so that uploading it again, fixed, adds only the rows that
were rejected (the form skips empty rows); row numbers stay the ones the Slack message names.

Two ways to make it, chosen by size:
- a workbook that fits the memory budget and the time left is loaded whole and saved back, keeping its
  formatting, its other sheets and, for `.xlsm`, its macros (openpyxl drops charts and pictures);
- a larger workbook, and every CSV, is copied row by row into a new workbook (flat memory): the answers
  sheet's values and number formats only. A CSV's cells are all written as text, as the parser read them.

Text never becomes a formula in the copy: every cell written from the upload or a problem is typed text.
Formats: Office Open XML SpreadsheetML (ECMA-376 Part 1) as openpyxl reads and writes it; cell comments are
legacy VML notes (openpyxl's `Comment`).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Color, Font, PatternFill

from shoplake.surveys import strict_ooxml
from shoplake.surveys.layout import MARKUP_SHEET
from shoplake.surveys.rows import Problem
from shoplake.surveys.workbook import workbook_facts

# Excel's built-in "Bad" cell style: light red fill, dark red text.
BAD_FILL = PatternFill(fill_type="solid", fgColor="FFC7CE", bgColor="FFC7CE")
BAD_FONT_COLOR = "9C0006"
# What a cell costs openpyxl when a workbook is loaded whole (measured with tracemalloc: about 1 KiB per
# styled cell, with room for the saved copy); larger workbooks are copied row by row.
OPENPYXL_BYTES_PER_CELL = 2048
# What loading and saving a workbook whole costs openpyxl, measured here: about 33 µs a cell (8 s for a
# 240,000-cell survey); a workbook is loaded whole only when that fits the time left before the deadline.
OPENPYXL_SECONDS_PER_CELL = 40e-6
# The row-by-row copy looks at the clock this often, and gives up once the deadline has passed.
CLOCK_EVERY_ROWS = 500
COMMENT_AUTHOR = "shoplake"
# A CSV's answers go to a sheet of this name in its marked-up copy.
CSV_ANSWERS_SHEET = "answers"
_COMMENT_WIDTH_PT, _COMMENT_HEIGHT_PT = 300, 110


@dataclass(frozen=True)
class Mark:
    """One cell to highlight: Excel's 1-based `row`, its column `letter`, and the `notes` naming each rule broken."""

    row: int
    letter: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class MarkedCopy:
    """A marked-up workbook: its bytes, its suffix (`.xlsx`, or `.xlsm` for a macro workbook loaded whole),
    how many cells are marked, and whether the original's formatting was kept (`whole`)."""

    body: bytes
    suffix: str
    cells: int
    whole: bool


def marks_for(problems: Iterable[Problem]) -> list[Mark]:
    """One `Mark` per problem cell, in row then column order; problems with no column (`-`) are left out."""
    notes: dict[tuple[int, str], list[str]] = {}
    for p in problems:
        if p.column and p.column != "-":
            notes.setdefault((p.row, p.column), []).append(f"{p.header}: {p.reason}")
    ordered = sorted(notes, key=lambda cell: (cell[0], len(cell[1]), cell[1]))
    return [Mark(row, letter, tuple(notes[(row, letter)])) for row, letter in ordered]


def xml_safe(value: object) -> object:
    """Text as a workbook can hold it: XML 1.0 forbids most C0 controls (openpyxl refuses them).

    A vertical tab or form feed (FileMaker's and some exports' line break) becomes a line break; any other
    forbidden control character is dropped. Other values are returned as they are.
    """
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: "\n" if m.group() in "\x0b\x0c" else "", value)
    return value


def _text_cell(sheet: Any, value: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=xml_safe(value))
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def _instructions(file_name: str, sheet: str, emptied: bool, problems: Sequence[Problem]) -> list[list[object]]:
    lines: list[list[object]] = [
        [f"shoplake could not take some answers in {file_name}."],
        [f"Each cell to fix is highlighted in red in sheet {sheet!r}; its comment says which rule it breaks."],
        ["Fix those cells and upload this workbook again. This sheet is ignored when you do; you may delete it."],
    ]
    if emptied:
        lines.append(["The rows already taken into the lake are empty here, so the upload adds only the rows you fix."])
    lines += [[], ["Row", "Column", "Header", "Value", "Problem"]]
    lines += [[p.row, p.column, p.header, p.value, p.reason] for p in problems]
    return lines


def _comment(notes: Sequence[str]) -> Comment:
    comment = Comment("shoplake:\n" + "\n".join(notes), COMMENT_AUTHOR)
    comment.width, comment.height = _COMMENT_WIDTH_PT, _COMMENT_HEIGHT_PT
    return comment


@dataclass(frozen=True)
class _Job:
    sheet: str
    header_row: int
    marks: Sequence[Mark]
    emptied: bool
    intro: list[list[object]]

    def empties(self, number: int, marked: object) -> bool:
        return self.emptied and number > self.header_row and not marked


def _merged_origin(sheet: Any, cell: Any) -> Any:
    if isinstance(cell, MergedCell):  # a merged range's value and look live in its top-left cell
        for merged in sheet.merged_cells.ranges:
            if cell.coordinate in merged:
                return sheet.cell(merged.min_row, merged.min_col)
    return cell


def _clean(book: Any) -> None:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and ILLEGAL_CHARACTERS_RE.search(cell.value):
                    cell.value = xml_safe(cell.value)


def _mark_answers(answers: Any, job: _Job) -> None:
    for merged in list(answers.merged_cells.ranges):
        if merged.max_row > job.header_row:  # answers are one cell each: each row fixed and taken on its own
            answers.unmerge_cells(str(merged))
    marked_rows = {m.row for m in job.marks}
    for row in answers.iter_rows(min_row=job.header_row + 1):
        if row and job.empties(row[0].row, row[0].row in marked_rows):
            for cell in row:
                cell.value = None
    for mark in job.marks:
        cell = _merged_origin(answers, answers[f"{mark.letter}{mark.row}"])
        cell.fill = BAD_FILL
        font = copy(cell.font)  # the cell's own font (size, face), in the Bad style's colour
        font.color = Color(BAD_FONT_COLOR)
        cell.font = font
        earlier = (f"earlier note: {cell.comment.text}",) if cell.comment is not None else ()
        cell.comment = _comment((*mark.notes, *earlier))


def _whole(path: Path, macros: bool, job: _Job) -> bytes:
    # The values Excel stored, as the parser read them: a formula reading an emptied row would change.
    book = load_workbook(path, keep_vba=macros, keep_links=False, rich_text=False, data_only=True)
    if job.sheet not in book.sheetnames:
        raise LookupError(f"openpyxl finds no sheet {job.sheet!r} in the workbook")
    if MARKUP_SHEET in book.sheetnames:  # a marked copy uploaded again: its old list goes
        del book[MARKUP_SHEET]
    _clean(book)
    _mark_answers(book[job.sheet], job)
    listing = book.create_sheet(MARKUP_SHEET, 0)
    for line in job.intro:
        listing.append([xml_safe(value) for value in line])
        for cell in listing[listing.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    for other in book.worksheets:
        other.sheet_view.tabSelected = other is listing
    book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _streamed(
    rows: Iterator[tuple[int, Sequence[object]]], job: _Job, past_deadline: Callable[[], bool]
) -> bytes | None:
    book = Workbook(write_only=True)
    try:
        return _stream_into(book, rows, job, past_deadline)
    except BaseException:
        _discard(book)
        raise


def _discard(book: Workbook) -> None:
    """Close a write-only workbook's scratch files, throwing away what was written."""
    with contextlib.suppress(Exception):  # the content is being thrown away; only the files must close
        book.save(io.BytesIO())


def _stream_into(
    book: Workbook, rows: Iterator[tuple[int, Sequence[object]]], job: _Job, past_deadline: Callable[[], bool]
) -> bytes | None:
    listing = book.create_sheet(MARKUP_SHEET)
    for line in job.intro:
        listing.append([_text_cell(listing, value) for value in line])
    answers = book.create_sheet(job.sheet[:31])
    by_row: dict[int, dict[int, Mark]] = {}
    for mark in job.marks:
        by_row.setdefault(mark.row, {})[_column_index(mark.letter)] = mark
    written = 0
    for number, values in rows:
        if number % CLOCK_EVERY_ROWS == 0 and past_deadline():
            _discard(book)
            return None
        while written < number - 1:
            answers.append([])
            written += 1
        marked = by_row.get(number)
        cells = []
        for index, value in enumerate(() if job.empties(number, marked) else values):
            cell = _text_cell(answers, getattr(value, "value", value))
            number_format = getattr(value, "number_format", None)
            if number_format:
                cell.number_format = number_format
            if marked and index in marked:
                cell.fill = BAD_FILL
                cell.font = Font(color=BAD_FONT_COLOR)
                cell.comment = _comment(marked[index].notes)
            cells.append(cell)
        answers.append(cells)
        written = number
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column_index(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _csv_rows(path: Path) -> Iterator[tuple[int, Sequence[object]]]:
    from shoplake.surveys.csv_file import open_csv  # noqa: PLC0415 - csv_file pulls in the workbook reader

    return open_csv(path).rows


def _workbook_rows(path: Path, sheet: str) -> Iterator[tuple[int, Sequence[object]]]:
    book = load_workbook(path, read_only=True, keep_links=False, data_only=True)
    try:
        if sheet not in book.sheetnames:
            raise LookupError(f"openpyxl finds no sheet {sheet!r} in the workbook")
        for row in book[sheet].iter_rows():
            cells = [c for c in row if getattr(c, "row", None)]
            if cells:
                yield cells[0].row, row
    finally:
        book.close()


def marked_copy(
    path: Path,
    file_name: str,
    sheet: str,
    header_row: int,
    problems: Sequence[Problem],
    *,
    emptied: bool,
    memory_budget_bytes: int,
    deadline: float = float("inf"),
) -> MarkedCopy | None:
    """The uploaded file at `path` (already read and found safe by the parser) with `problems` marked.

    `file_name` is the uploaded name (its suffix says CSV, xlsx or xlsm); `sheet` the answers sheet
    (`csv` for a CSV); `header_row` its header's Excel row; `emptied` empties every data row with no
    problem (for a file whose good rows were ingested). A workbook whose cells (at least each sheet's
    `workbook_facts` count) fit `memory_budget_bytes` at `OPENPYXL_BYTES_PER_CELL` and the time left
    before `deadline` (on `time.monotonic()`) at `OPENPYXL_SECONDS_PER_CELL` is loaded whole; otherwise it
    is copied row by row, giving up (None) once the deadline passes (at once if it has). Formulas give
    the values Excel stored, as the parser read them; merged ranges among the answers are unmerged, so
    each row is fixed on its own; control characters XML forbids become line breaks or go. Raises
    LookupError when openpyxl finds no such sheet, and what openpyxl raises for a workbook it cannot load.
    """
    suffix = Path(file_name).suffix.lower()
    marks = marks_for(problems)

    def past_deadline() -> bool:
        return time.monotonic() > deadline

    if suffix == ".csv":
        job = _Job(
            CSV_ANSWERS_SHEET,
            header_row,
            marks,
            emptied,
            _instructions(file_name, CSV_ANSWERS_SHEET, emptied, problems),
        )
        body = _streamed(_csv_rows(path), job, past_deadline)
        return MarkedCopy(body, ".xlsx", len(marks), False) if body is not None else None
    job = _Job(sheet, header_row, marks, emptied, _instructions(file_name, sheet, emptied, problems))
    with tempfile.TemporaryDirectory(prefix="survey-markup-") as work:
        if strict_ooxml.is_strict(path):  # openpyxl reads Transitional only
            transitional = Path(work) / f"transitional{suffix}"
            strict_ooxml.to_transitional(path, transitional)
            path = transitional
        if past_deadline():
            return None
        cells = sum(facts.cells for facts in workbook_facts(path)[1])  # at least what each sheet holds
        in_time = time.monotonic() + cells * OPENPYXL_SECONDS_PER_CELL <= deadline
        if cells * OPENPYXL_BYTES_PER_CELL <= memory_budget_bytes and in_time:
            return MarkedCopy(_whole(path, suffix == ".xlsm", job), suffix, len(marks), True)
        body = _streamed(_workbook_rows(path, sheet), job, past_deadline)
    return MarkedCopy(body, ".xlsx", len(marks), False) if body is not None else None
