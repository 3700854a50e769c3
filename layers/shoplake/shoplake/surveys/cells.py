"""What a workbook cell holds, the same whichever reader read it.

calamine (the fast reader) and openpyxl (the streaming one) each give a cell as Python
values of their own: calamine every number as a float and an empty cell as `""`, openpyxl a
whole number as an int. Both readers' rows pass through `canonical_row`, so what `rows`
converts, and what a problem shows, never depends on which reader the file's size chose.

A cell leaves as one of: None (empty), `str` (text, including an error such as `#DIV/0!`),
`float` (every number: Excel stores IEEE 754 doubles, ECMA-376 Part 1, 18.17.4.4), `bool`, or a
naive `datetime`, `time` or `timedelta` (a date- or duration-formatted number, as the reader
decided from the cell's number format), or an aware `datetime` never (ISO text with a zone is kept as
text, and `rows` reads the zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

# A cell already in canonical form costs one class check.
_CANONICAL = frozenset({float, bool, datetime, time, timedelta, type(None)})


def canonical_cell(value: object) -> object:
    """One cell in the shared form (see the module docstring); anything unforeseen becomes its text."""
    if value.__class__ is str:
        return value or None
    if value.__class__ in _CANONICAL:
        return value
    if isinstance(value, int):  # openpyxl's whole numbers; bool is caught above
        return float(value)
    if value.__class__ is date:  # calamine gives a date-only format's day as a date, openpyxl as a datetime
        return datetime.combine(value, time())
    if isinstance(value, datetime | date | time | timedelta | float | str):
        return value
    return str(value)


def canonical_row(row: Sequence[object]) -> tuple[object, ...]:
    """A row with every cell in the shared form; trailing empty cells dropped, so widths agree too."""
    cells = [c if (c.__class__ is float or c is None) else canonical_cell(c) for c in row]
    while cells and cells[-1] is None:
        cells.pop()
    return tuple(cells)
