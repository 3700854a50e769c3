"""Where a sheet's rows are, by the numbers they are written with; read before either reader reads the sheet.

A row's number is its `r` attribute (ECMA-376 Part 1, 18.3.1.73), or the previous row's plus one when it
has none, as Excel, calamine and openpyxl all number it; never its position in the part. ECMA-376 asks for
rows in ascending order, and Excel writes them so; a crafted or badly merged file need not:

- rows written out of order are read in the order of their numbers, by both readers: calamine places
  each row by its number; the streaming reader merges the part's ascending runs (`row_runs`), one pass
  over the part per run, so its memory stays flat. More than `MAX_RUNS` runs refuse the file;
- a number written twice refuses the file, naming the row: keeping one of the two would lose the other's
  answers without a word (calamine kept the last, openpyxl both);
- a number beyond Excel's 1,048,576 rows, below 1, or no whole number refuses the file.

The part is scanned in chunks for its `<row>` start tags (nothing kept but a bit per row number): a
pattern over the bytes where the part holds no comment, CDATA section, processing instruction or
prefixed row or cell tag, which could hide or disguise one (what Excel and the usual writers produce); expat
otherwise, after `workbook.check_archive` has refused DTDs. What expat cannot parse raises `ExpatError`
(damage); a part the pattern passes is parsed by the readers themselves, which report damage.

The same pass bounds the grid the cells span (`RowScan.cells_bound`): the rows up to the last that a row
tag or a cell reference names, times the widest column the references name (Z, ZZ or ZZZ, by their
letters). A reference's row is bounded by its digits: no more than the highest row tag's, else unknown.
A reader that makes the sheet one dense range (calamine) is chosen only under that bound: two cells at
A1 and XFD1048576 make 17 billion, which no declared <dimension> or small part size betrays. What the
patterns could misread goes to expat, which reads every reference whole: a prefixed cell (`<x:c`, `<:c`),
a row tag left open (the pattern stops at the next `<`, so the scan stays linear), and any `r=` in the
sheet data besides a `<c r="` or `<row r="` tag's first (a second `r`, which calamine would obey).
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.parsers import expat

_ROW = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"
# The most columns a cell reference of 1, 2 or 3 letters can name (Z, ZZ, ZZZ: beyond Excel's XFD).
COLUMNS_BY_LETTERS = {1: 26, 2: 702, 3: 18_278}
# The rows of a sheet whose references cannot be bounded: more than any budget holds.
UNBOUNDED_ROWS = 2**40
# A cell start tag that is not `<c r="` and a reference of at most one, or two, letters.
_BEYOND_ONE_LETTER = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z][0-9])')
_BEYOND_TWO_LETTERS = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,2}[0-9])')
# A cell start tag with no reference, or one written otherwise than `<c r="` letters and digits.
_NOT_A_REFERENCE = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,3}[0-9])')
EXCEL_MAX_ROWS = 1_048_576
# Each run costs the streaming reader one more pass over the part (up to the run's end).
MAX_RUNS = 32
_CHUNK = 1 << 20
# A row start tag: its attributes end at its `>` or, damaged, at the next `<` (never past it: linear time).
_ROW_TAG = re.compile(rb"<row(?=[\s/>])([^<>]*)>")
_ROW_START = re.compile(rb"<row(?=[\s/>])")
# An `r` attribute spelled with space before its `=` (`r ="XFD1"`), which the count of `r=` misses.
_SPACED_R = re.compile(rb"r\s+=")
_R_ATTRIBUTE = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
# What could hide a row tag from the pattern, or be one it does not see: then expat reads the part.
# A prefixed cell tag (`<x:c`, and `<:c` or `<é:c`, which calamine reads as cells too) is caught by its `:c`.
_NOT_PLAIN = re.compile(rb"<!--|<!\[CDATA\[|<\?(?!xml[\s?])|<[\w.-]+:row[\s/>]")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")


class _NotPlain(Exception):  # noqa: N818 - a signal to read the part with expat, not an error
    pass


class RowOrderError(ValueError):
    """The sheet's row numbers cannot be read one way: `row` is the row number at fault (None if none is)."""

    def __init__(self, reason: str, row: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.row = row


def row_number(written: str | None, previous: int) -> int:
    """A row's number from its `r` attribute as openpyxl reads it (`5`, `5.0`), or `previous + 1` without one.

    Raises RowOrderError for a number that is no whole number or beyond Excel's rows.
    """
    if written is None:
        number = previous + 1
    else:
        try:
            number = int(written)
        except ValueError:
            try:
                value = float(written)
            except ValueError:
                value = 0.5
            if not value.is_integer():
                raise RowOrderError(f"a row's number is written as {written[:20]!r}, not a whole number") from None
            number = int(value)
    if not 1 <= number <= EXCEL_MAX_ROWS:
        raise RowOrderError(f"a row is numbered {number}, outside Excel's rows 1 to {EXCEL_MAX_ROWS:,}", number)
    return number


@dataclass(frozen=True)
class RowScan:
    """A sheet part's rows: its ascending `runs` (see `row_runs`), its highest row number (0 for no rows),
    `referenced_rows`, at least the highest row a cell reference names (UNBOUNDED_ROWS when unknown), and
    `letters`, the most letters a cell reference has (3 also for a cell with none, or written otherwise)."""

    runs: list[tuple[int, int]]
    highest: int
    referenced_rows: int
    letters: int

    @property
    def cells_bound(self) -> int:
        """At least the cells of the range from A1 holding every cell: rows × the widest columns."""
        if not self.runs:
            return 0
        return max(self.highest, self.referenced_rows) * COLUMNS_BY_LETTERS[self.letters]


def row_runs(path: Path, part: str) -> list[tuple[int, int]]:
    """The sheet's ascending runs of rows, as (first, end) positions of `<row>` elements in the part, in order.

    A sheet written in order is one run, `[(0, rows)]`; an empty sheet none. Raises as `scan_rows` does.
    """
    return scan_rows(path, part).runs


def scan_rows(path: Path, part: str) -> RowScan:
    """The sheet part's rows and the grid its cells span (`RowScan`), in one pass over the part.

    Raises RowOrderError for a number written twice (naming it), out of range, or more than `MAX_RUNS`
    runs; KeyError when the part is missing; ExpatError for XML expat cannot parse; zipfile's and zlib's
    errors for a damaged member.
    """
    try:
        return _runs(path, part, _scan_plain)
    except _NotPlain:
        return _runs(path, part, _scan_with_expat)


class _Runs:
    def __init__(self) -> None:
        self.seen = bytearray(EXCEL_MAX_ROWS // 8 + 1)
        self.runs: list[tuple[int, int]] = []
        self.count = self.previous = self.start = 0
        self.highest = self.referenced_rows = 0
        self.letters = 1
        self.data_ended = False

    def row(self, written: str | None) -> None:
        # openpyxl takes a row at its end tag, and numbers it from the row that ended before it.
        number = row_number(written, self.previous)
        if self.seen[number >> 3] & (1 << (number & 7)):
            raise RowOrderError(f"row {number} is written twice in the sheet", number)
        self.seen[number >> 3] |= 1 << (number & 7)
        self.highest = max(self.highest, number)
        if number < self.previous:
            self.runs.append((self.start, self.count))
            self.start = self.count
            if len(self.runs) >= MAX_RUNS:
                raise RowOrderError(f"the rows are written out of order more than {MAX_RUNS} times", number)
        self.previous = number
        self.count += 1


Scan = Callable[[IO[bytes], _Runs], None]


def _runs(path: Path, part: str, scan: Scan) -> RowScan:
    runs = _Runs()
    with zipfile.ZipFile(path) as archive, archive.open(part) as source:
        scan(source, runs)
    if runs.count > runs.start:
        runs.runs.append((runs.start, runs.count))
    return RowScan(runs.runs, runs.highest, runs.referenced_rows, runs.letters)


def _another_r(region: bytes, runs: _Runs) -> bool:
    """Whether `region` holds an `r=` that is not the first attribute of a `<c r="` or `<row r="` tag.

    Counted up to `</sheetData>` (after it, `header=` and `footer=` end in `r=` too); a second `r` attribute
    on a cell would place it, to calamine, where the scan does not look.
    """
    end = region.find(b"</sheetData>")
    cells = region if end < 0 else region[:end]
    runs.data_ended = end >= 0
    expected = cells.count(b'<c r="') + cells.count(b'<row r="')
    return cells.count(b"r=") != expected or _SPACED_R.search(cells) is not None


def _bound_references(region: bytes, runs: _Runs) -> None:
    """Widen `runs`' bounds by the cell references in `region`, whose row tags `runs` has counted (what the
    patterns cannot read, a prefixed cell or a second `r`, has sent the part to expat before this)."""
    if runs.referenced_rows >= UNBOUNDED_ROWS:
        return
    if _NOT_A_REFERENCE.search(region):
        runs.letters, runs.referenced_rows = 3, UNBOUNDED_ROWS
        return
    if runs.letters < 2 and _BEYOND_ONE_LETTER.search(region):
        runs.letters = 2
    if runs.letters < 3 and _BEYOND_TWO_LETTERS.search(region):
        runs.letters = 3
    digits = len(str(runs.highest))
    if _more_digits(digits).search(region):
        runs.referenced_rows = UNBOUNDED_ROWS
    else:
        runs.referenced_rows = max(runs.referenced_rows, 10**digits - 1)


@functools.cache
def _more_digits(digits: int) -> re.Pattern[bytes]:
    """A cell reference whose row has more than `digits` digits."""
    return re.compile(rb'<c r="[A-Z]{1,3}[0-9]{%d}' % (digits + 1))


def _scan_plain(source: IO[bytes], runs: _Runs) -> None:
    carried = b""
    while chunk := source.read(_CHUNK):
        text = carried + chunk
        cut = text.rfind(b"<")  # a tag may run on into the next chunk: from its `<` on, it waits
        cut = len(text) if cut < 0 else cut
        region, carried = text[:cut], text[cut:]
        if _NOT_PLAIN.search(text[: cut + 16]):
            raise _NotPlain
        matched = 0
        for match in _ROW_TAG.finditer(region):
            if match.group(1).count(b'"') % 2 or match.group(1).count(b"'") % 2:
                raise _NotPlain  # a `>` inside an attribute's value ended the match early
            attribute = _R_ATTRIBUTE.search(match.group(1))
            runs.row(attribute.group(1).decode("ascii", "replace") if attribute else None)
            matched += 1
        if matched != len(_ROW_START.findall(region)) or _PREFIXED_CELL.search(text[: cut + 16]):
            raise _NotPlain  # a row tag left open, or a prefixed cell: expat reads the part
        if not runs.data_ended and _another_r(region, runs):
            raise _NotPlain  # an `r` attribute beside a cell's or row's first: expat refuses a second one
        _bound_references(region, runs)
    if _NOT_PLAIN.search(carried) or _ROW_TAG.search(carried):
        raise _NotPlain
    _bound_references(carried, runs)


def _scan_with_expat(source: IO[bytes], runs: _Runs) -> None:
    open_rows: list[str | None] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == _ROW:
            open_rows.append(attributes.get("r"))
        elif name.rpartition("}")[2] == "c":  # a cell in any namespace: calamine reads elements by local name
            reference = attributes.get("r") or ""
            letters = len(reference) - len(reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            row = reference[letters:]
            if 1 <= letters <= 3 and row.isascii() and row.isdigit():
                runs.letters = max(runs.letters, letters)
                runs.referenced_rows = max(runs.referenced_rows, int(row))
            else:
                runs.letters, runs.referenced_rows = 3, UNBOUNDED_ROWS

    def end(name: str) -> None:
        if name == _ROW:
            runs.row(open_rows.pop())

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    while chunk := source.read(_CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
