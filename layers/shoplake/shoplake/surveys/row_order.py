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

The part is read with expat in chunks, elements only (nothing kept but a bit per row number), after
`workbook.check_archive` has refused DTDs; what expat cannot parse raises `ExpatError` (damage).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.parsers import expat

_ROW = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"
EXCEL_MAX_ROWS = 1_048_576
# Each run costs the streaming reader one more pass over the part (up to the run's end).
MAX_RUNS = 32
_CHUNK = 1 << 20


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


def row_runs(path: Path, part: str) -> list[tuple[int, int]]:
    """The sheet's ascending runs of rows, as (first, end) positions of `<row>` elements in the part, in order.

    A sheet written in order is one run, `[(0, rows)]`; an empty sheet none. Raises RowOrderError for a
    number written twice (naming it), out of range, or more than `MAX_RUNS` runs; KeyError when the part
    is missing; ExpatError for XML expat cannot parse; zipfile's and zlib's errors for a damaged member.
    """
    seen = bytearray(EXCEL_MAX_ROWS // 8 + 1)
    runs: list[tuple[int, int]] = []
    open_rows: list[str | None] = []
    state = {"count": 0, "previous": 0, "start": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == _ROW:
            open_rows.append(attributes.get("r"))

    def end(name: str) -> None:
        if name != _ROW:
            return
        # openpyxl takes a row at its end tag, and numbers it from the row that ended before it.
        number = row_number(open_rows.pop(), state["previous"])
        if seen[number >> 3] & (1 << (number & 7)):
            raise RowOrderError(f"row {number} is written twice in the sheet", number)
        seen[number >> 3] |= 1 << (number & 7)
        if number < state["previous"]:
            runs.append((state["start"], state["count"]))
            state["start"] = state["count"]
            if len(runs) >= MAX_RUNS:
                raise RowOrderError(f"the rows are written out of order more than {MAX_RUNS} times", number)
        state["previous"] = number
        state["count"] += 1

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with zipfile.ZipFile(path) as archive, archive.open(part) as source:
        while chunk := source.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    if state["count"] > state["start"]:
        runs.append((state["start"], state["count"]))
    return runs
