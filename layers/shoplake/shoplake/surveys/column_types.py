"""One form column's cells of a batch typed in bulk, class by class; `rows.Converter` for what bulk cannot vouch for.

A column's cells are grouped by Python class (text, number, date, yes/no, empty: `group_cells`). A group
that can be typed in bulk is typed with Arrow compute, but only the cells bulk typing can vouch for:
text already trimmed and NFKC-normal within its length, finite numbers within bounds (whole, for integers),
date-formatted cells from 1971 to 2036 that exist in the zone. A choice or pattern column, a number or date
typed as text, a list, a yes/no is worked out once per distinct text. Every other cell, and every cell with
anything wrong, goes through `Converter.for_column`, the one definition of what a cell means: it gives the
value or the problem, so bulk typing changes how fast an answer comes, never the answer.

The years 1971-2036 bound the bulk date path because there Arrow's time zone arithmetic and Python's
`zoneinfo` read the same transitions (before 1970 Arrow's casts round towards zero; after 2037 a zone's
rules come from its POSIX footer). A time a DST change skips goes through Python, whose `replace(tzinfo=)`
reads it with the offset before the change, as Arrow's `assume_timezone` cannot.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shoplake.surveys.datetime_text import header_zone
from shoplake.surveys.forms import Column
from shoplake.surveys.rows import FORMULA_START, CellError, Converter, neutralise

# Microseconds since 1970 of the first day of 1971 and of 2037: see the module docstring.
SAFE_MICROS = tuple(int((datetime(y, 1, 1) - datetime(1970, 1, 1)) / timedelta(microseconds=1)) for y in (1971, 2037))
# Text starting as `rows.neutralise` says a formula does; the cells found are neutralised by it.
_FORMULA = "^[" + "".join(f"\\x{{{ord(c):02x}}}" for c in FORMULA_START) + "]"
# What Python's str.strip() strips (str.isspace: Unicode White_Space less U+0085's kin, plus U+001C-U+001F);
# all of them lie below U+3001, which the tests check against the whole of Unicode.
SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_SPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in SPACES) + "]"
_PADDED = f"^{_SPACE_CLASS}|{_SPACE_CLASS}$"
_EXACT_FLOAT = 2**53  # every whole float below this in magnitude is exactly an int64
_is_nfkc = partial(unicodedata.is_normalized, "NFKC")

# A cell's outcome: (True, value, None) or (False, value to show, reason).
Outcome = tuple[bool, object, object]
Problems = dict[int, tuple[object, str]]
# A group's typing: its values (aligned with its cells; anything where a cell is retried or wrong), the
# indices (into the group) of cells to type one by one, and the problems found, by index into the group.
Typed = tuple[pa.Array, Iterable[int], Problems]


def attempt(convert: Callable[[object], object], cell: object) -> Outcome:
    """One cell through its per-cell converter: `(True, value, None)` or `(False, shown, reason)`.

    `shown` is what the problem shows (the cell, or what the CellError says to show); an unforeseen
    exception is the cell's problem too ("cannot be read (...)"), as `rows.typed_rows` reports it.
    """
    try:
        return True, convert(cell), None
    except CellError as error:
        return False, cell if error.shown is None else error.shown, str(error)
    except Exception as error:  # noqa: BLE001 - one cell's unforeseen failure costs its row, never the file
        return False, cell, f"cannot be read ({type(error).__name__}: {error})"


@dataclass
class Group:
    """A column's cells of one class: positions in the batch (None: all), the cells, and text as Arrow.

    `text` is the cells as an Arrow string array when they are text (None when they are not, or hold
    what UTF-8 cannot, a lone surrogate).
    """

    positions: list[int] | None
    cells: list[Any]
    text: pa.Array | None = None

    def place(self, k: int) -> int:
        """The batch position of the group's `k`th cell."""
        return k if self.positions is None else self.positions[k]


def group_cells(cells: tuple[object, ...]) -> dict[type, Group]:
    """A column's cells by class, each group in row order; one group for a column of one class (the usual)."""
    kinds = set(map(type, cells))
    if len(kinds) == 1:
        groups = {kinds.pop(): Group(None, list(cells))}
    else:
        classes = list(map(type, cells))
        groups = {}
        for kind in kinds:
            mine = list(map(is_, classes, repeat(kind)))
            groups[kind] = Group(list(compress(range(len(cells)), mine)), list(compress(cells, mine)))
    texts = groups.get(str)
    if texts is not None:
        try:
            texts.text = pa.array(texts.cells, pa.string())
        except (pa.ArrowException, UnicodeError):  # a lone surrogate: its column's text goes one by one
            texts.text = None
    return groups


class ColumnTyping:
    """One form column of the sheet: where it is, and how its cells are typed in bulk and one by one."""

    def __init__(self, index: int, column: Column, header: str, converter: Converter) -> None:
        self.index, self.column, self.header = index, column, header
        self.type = column.arrow_type
        self.convert = converter.for_column(column, header)
        # A choice or pattern column's converter remembers answers by value, and 1.0 == True there: its
        # cells other than text keep today's order through it (see `type_column`).
        self.remembering = column.type in ("string", "string_list") and bool(
            column.allowed or column.value_aliases or column.pattern
        )
        fixed = header_zone(header) if column.type == "timestamp" else None
        self.offset_us = None if fixed is None else fixed.utcoffset(None) // timedelta(microseconds=1)
        self.zone = converter.form.timezone

    def bulk(self, kind: type) -> Callable[[Group], Typed | None] | None:
        """The bulk typing of this column's cells of class `kind`; None when they go one by one."""
        column_type = self.column.type
        if kind is str:
            plain = column_type == "string" and not self.remembering
            return self._plain_text if plain else self._distinct
        ways: dict[type, Callable[[Group], Typed | None] | None] = {
            type(None): None if self.column.required else self._empty,
            float: self._numbers if column_type in ("integer", "number") else None,
            datetime: self._moments if column_type in ("timestamp", "date") else None,
            bool: self._booleans if column_type == "boolean" else None,
        }
        return None if self.remembering else ways.get(kind)

    @staticmethod
    def _booleans(group: Group) -> Typed:
        return pa.array(group.cells, pa.bool_()), (), {}

    def _empty(self, group: Group) -> Typed:
        return pa.nulls(len(group.cells), self.type), (), {}

    def _plain_text(self, group: Group) -> Typed | None:
        # Text already trimmed, NFKC and within its length is its own value (neutralised): `Converter._string`.
        array = group.text
        if array is None:
            return None
        lengths = pc.utf8_length(array)  # code points, as Python's len counts them
        ok = pc.and_(pc.invert(_mask(pc.match_substring_regex(array, _PADDED))), pc.greater(lengths, 0))
        if self.column.max_length is not None:
            ok = pc.and_(ok, pc.less_equal(lengths, self.column.max_length))
        wide = where(pc.invert(pc.string_is_ascii(array)))  # ASCII text is always NFKC
        changing = {k for k in wide if not _is_nfkc(group.cells[k])}
        formula = [k for k in where(pc.and_(_mask(pc.match_substring_regex(array, _FORMULA)), ok)) if k not in changing]
        if formula:
            values = list(group.cells)
            for k in formula:
                values[k] = neutralise(values[k])
            array = pa.array(values, pa.string())
        return array, sorted(changing.union(where(pc.invert(ok)))), {}

    def _distinct(self, group: Group) -> Typed | None:
        # Each distinct text converted once: the converter is a function of the text alone.
        if group.text is None:
            return None
        encoded = group.text.dictionary_encode()
        outcomes = [attempt(self.convert, text) for text in encoded.dictionary.to_pylist()]
        values = pa.array([value if ok else None for ok, value, _ in outcomes], self.type).take(encoded.indices)
        bad = [k for k, (ok, _, _) in enumerate(outcomes) if not ok]
        problems: Problems = {}
        if bad:
            indices = encoded.indices
            for k in where(pc.is_in(indices, value_set=pa.array(bad, indices.type))):
                _, shown, reason = outcomes[indices[k].as_py()]
                problems[k] = (shown, str(reason))
        return values, (), problems

    def _numbers(self, group: Group) -> Typed | None:
        # `Converter._number` and `_integer` for finite floats within bounds (and whole, for integers).
        column = self.column
        if any(float(b) != b for b in (column.minimum, column.maximum) if b is not None):
            return None  # a bound a float cannot hold exactly: one by one
        numbers = pa.array(group.cells, pa.float64())
        ok = pc.is_finite(numbers)
        if column.minimum is not None:
            ok = pc.and_(ok, pc.greater_equal(numbers, float(column.minimum)))
        if column.maximum is not None:
            ok = pc.and_(ok, pc.less_equal(numbers, float(column.maximum)))
        if column.type == "number":
            return numbers, where(pc.invert(ok)), {}
        whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less(pc.abs(numbers), float(_EXACT_FLOAT)))
        ok = pc.and_(ok, whole)
        return pc.if_else(ok, numbers, 0.0).cast(pa.int64()), where(pc.invert(ok)), {}

    def _moments(self, group: Group) -> Typed | None:
        # Naive date-formatted cells: `Converter._timestamp` and `_date` for days 1971-2036 that exist.
        if any(cell.tzinfo is not None for cell in group.cells):  # never from a reader; Python reads an offset
            return None
        try:
            local = pa.array(group.cells, pa.timestamp("us"))
            micros = local.cast(pa.int64())
            ok = pc.and_(pc.greater_equal(micros, SAFE_MICROS[0]), pc.less(micros, SAFE_MICROS[1]))
            if self.column.type == "date":
                return local.cast(pa.date32()), where(pc.invert(ok)), {}
            if self.offset_us is not None:  # the header names a fixed offset
                utc = pc.subtract(micros, self.offset_us).cast(pa.timestamp("us", tz="UTC"))
            else:
                early = pc.assume_timezone(local, timezone=self.zone, ambiguous="earliest", nonexistent="earliest")
                late = pc.assume_timezone(local, timezone=self.zone, ambiguous="earliest", nonexistent="latest")
                ok = pc.and_(ok, _mask(pc.equal(early, late)))  # they differ only for a time the zone skips
                utc = early
            return utc.cast(pa.timestamp("ms", tz="UTC"), safe=False), where(pc.invert(ok)), {}
        except (pa.ArrowException, OverflowError):  # no time zone database, a date Arrow cannot hold
            return None


def _mask(array: pa.Array) -> pa.Array:
    return array.fill_null(False)


def where(mask: pa.Array) -> list[int]:
    """The indices at which a boolean Arrow array is true (a null is false)."""
    indices: list[int] = pc.indices_nonzero(mask.fill_null(False)).to_pylist()
    return indices


def type_column(typing: ColumnTyping, groups: dict[type, Group], count: int) -> tuple[pa.Array, Problems]:
    """One column's cells, by class (`group_cells`), typed: an array `count` long, and its problems by position.

    Cells bulk typing leaves go through the per-cell converter in row order, so that a remembering
    converter (a choice column's) meets them in the order it met them before.
    """
    pieces: list[tuple[list[int] | None, pa.Array]] = []
    problems: Problems = {}
    one_by_one: list[tuple[int, object]] = []
    for kind, group in groups.items():
        bulk = typing.bulk(kind)
        typed = bulk(group) if bulk is not None else None
        if typed is None:
            one_by_one.extend((group.place(k), cell) for k, cell in enumerate(group.cells))
            continue
        values, retry, found = typed
        pieces.append((group.positions, values))
        one_by_one.extend((group.place(k), group.cells[k]) for k in retry)
        problems.update((group.place(k), problem) for k, problem in found.items())
    if not one_by_one and not problems and len(pieces) == 1 and pieces[0][0] is None:
        return pieces[0][1], problems
    good: list[int] = []
    converted: list[object] = []
    for position, cell in sorted(one_by_one, key=itemgetter(0)):
        ok, value, reason = attempt(typing.convert, cell)
        if ok:
            good.append(position)
            converted.append(value)
        else:
            problems[position] = (value, str(reason))
    pieces.append((good, pa.array(converted, typing.type)))
    return _assemble(pieces, count, typing.type), problems


def _assemble(pieces: list[tuple[list[int] | None, pa.Array]], count: int, kind: pa.DataType) -> pa.Array:
    """Pieces (positions, values) laid into one array of `count`; later pieces win; nulls where none is."""
    joined = pa.concat_arrays([values for _, values in pieces] + [pa.nulls(1, kind)])
    order = [len(joined) - 1] * count
    offset = 0
    for positions, values in pieces:
        taken = range(offset, offset + len(values))
        if positions is None:
            order = list(taken)
        else:
            for position, k in zip(positions, taken, strict=True):
                order[position] = k
        offset += len(values)
    return joined.take(pa.array(order, pa.int64()))
