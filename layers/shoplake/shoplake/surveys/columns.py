"""From raw cells to typed Arrow columns, a batch of rows at a time: `rows` says what is right, this does it in bulk.

A batch of rows is turned into one list of cells per form column, and each column's cells are
grouped by their Python class (text, number, date, yes/no, empty). A group whose cells can be
typed in bulk is typed with Arrow and numpy, but only the cells that bulk typing can vouch for:
text already trimmed and NFKC-normal within its length, finite numbers within bounds, dates and times
between 1971 and 2036 that exist in the zone. A column of choices, a pattern, a date typed as text
is worked out once per distinct text. Every other cell, and every cell with anything wrong, goes through
`rows.Converter.for_column`, the one definition of what a cell means: the per-cell converter gives the
value or the problem, so bulk typing never changes an answer, only how fast it comes.

The years 1971-2036 bound the bulk date path because there Arrow's time zone arithmetic and
Python's `zoneinfo` read the same transitions (before 1970 Arrow rounds towards zero, after 2037
a zone's rules come from its POSIX footer); a time a DST change skips goes through Python, whose
`replace(tzinfo=...)` reads it with the offset before the change, as Arrow's `assume_timezone` cannot.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from itertools import chain, islice, zip_longest
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shoplake.surveys.datetime_text import header_zone
from shoplake.surveys.forms import Column, Limits
from shoplake.surveys.layout import Layout
from shoplake.surveys.rows import CellError, Converter, Problem, cell_problem, neutralise
from shoplake.surveys.workbook import Refused, Row, SheetRows, column_letter

BATCH_ROWS = 10_000
# Microseconds (and milliseconds) since 1970 of the years bulk date typing takes: see the module docstring.
_SAFE_US = tuple(
    int((datetime(year, 1, 1) - datetime(1970, 1, 1)) / timedelta(microseconds=1)) for year in (1971, 2037)
)
_SAFE_MS = (_SAFE_US[0] // 1000, _SAFE_US[1] // 1000)
_FORMULA = "^[=+\\-@\t\r]"  # `rows.neutralise`'s first characters; the cells found are neutralised in Python
_EXACT_FLOAT = 2**53  # every whole float below this in magnitude is exactly an int64
_is_nfkc = partial(unicodedata.is_normalized, "NFKC")

# A cell's outcome: (True, value, None) or (False, value to show, reason).
Outcome = tuple[bool, object, object]
# A group's typing: its values (aligned with its cells; anything where a cell is retried or wrong), the
# indices (into the group) of cells to retry one by one, and the problems found, by index into the group.
Typed = tuple[pa.Array, Iterable[int], dict[int, tuple[object, str]]]


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
class TypedBatch:
    """A batch's good rows as Arrow arrays, and the problems of its bad rows.

    `numbers` are the good rows' Excel row numbers (int32); `arrays` their values, one array per form column
    in form order, typed as `Form.arrow_schema` says; `days` each good row's partition day (date32, in
    the form's zone); `problems` every bad row's problems, in row order then column order.
    """

    numbers: pa.Array
    arrays: list[pa.Array]
    days: pa.Array
    problems: list[Problem]


class _Slot:
    """One form column of the sheet: where it is, how its cells convert one by one and in bulk."""

    def __init__(self, index: int, column: Column, header: str, converter: Converter) -> None:
        self.index, self.column, self.header = index, column, header
        self.type = column.arrow_type
        self.convert = converter.for_column(column, header)
        # A choice or pattern column's converter remembers answers by value, and 1.0 == True: its cells
        # other than text keep today's order through it (see `_type_column`).
        self.remembering = column.type in ("string", "string_list") and bool(
            column.allowed or column.value_aliases or column.pattern
        )
        fixed = header_zone(header) if column.type == "timestamp" else None
        self.offset_us = None if fixed is None else fixed.utcoffset(None) // timedelta(microseconds=1)
        self.zone = converter.form.timezone

    def bulk(self, kind: type) -> Callable[[list[Any]], Typed | None] | None:
        """The bulk typing of this column's cells of class `kind`; None when they go one by one."""
        column_type = self.column.type
        if kind is str:
            plain = column_type == "string" and not self.remembering
            return self._plain_text if plain else self._distinct
        ways: dict[type, Callable[[list[Any]], Typed | None] | None] = {
            type(None): None if self.column.required else self._empty,
            float: self._numbers if column_type in ("integer", "number") else None,
            datetime: self._moments if column_type in ("timestamp", "date") else None,
            bool: self._booleans if column_type == "boolean" else None,
        }
        return None if self.remembering else ways.get(kind)

    @staticmethod
    def _booleans(cells: list[bool]) -> Typed:
        return pa.array(cells, pa.bool_()), (), {}

    def _empty(self, cells: list[Any]) -> Typed:
        return pa.nulls(len(cells), self.type), (), {}

    def _plain_text(self, cells: list[str]) -> Typed | None:
        # Text already trimmed, NFKC and within its length is its own value (neutralised): `Converter._string`.
        try:
            array = pa.array(cells, pa.string())
        except (pa.ArrowException, UnicodeError):  # a lone surrogate: one by one
            return None
        count = len(cells)
        ok = np.fromiter(map(operator.is_, cells, map(str.strip, cells)), bool, count)
        ok &= np.fromiter(map(_is_nfkc, cells), bool, count)
        lengths = np.fromiter(map(len, cells), np.int64, count)
        ok &= lengths > 0
        if self.column.max_length is not None:
            ok &= lengths <= self.column.max_length
        formula = np.flatnonzero(_mask(pc.match_substring_regex(array, _FORMULA)) & ok)
        if formula.size:
            values = list(cells)
            for k in formula.tolist():
                values[k] = neutralise(values[k])
            array = pa.array(values, pa.string())
        return array, np.flatnonzero(~ok).tolist(), {}

    def _distinct(self, cells: list[str]) -> Typed | None:
        # Each distinct text converted once; the converter is a function of the text alone.
        try:
            encoded = pa.array(cells, pa.string()).dictionary_encode()
        except (pa.ArrowException, UnicodeError):
            return None
        outcomes = [attempt(self.convert, text) for text in encoded.dictionary.to_pylist()]
        values = pa.array([value if ok else None for ok, value, _ in outcomes], self.type).take(encoded.indices)
        bad = [k for k, (ok, _, _) in enumerate(outcomes) if not ok]
        problems: dict[int, tuple[object, str]] = {}
        if bad:
            indices = encoded.indices.to_numpy()
            for k in np.flatnonzero(np.isin(indices, bad)).tolist():
                _, shown, reason = outcomes[indices[k]]
                problems[k] = (shown, str(reason))
        return values, (), problems

    def _numbers(self, cells: list[float]) -> Typed | None:
        # `Converter._number` and `_integer` for finite floats within bounds (and whole, for integers).
        column = self.column
        bounds = [b for b in (column.minimum, column.maximum) if b is not None]
        if any(float(b) != b for b in bounds):  # a bound a float cannot hold exactly: one by one
            return None
        numbers = np.array(cells, np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(numbers)
            if column.minimum is not None:
                ok &= numbers >= column.minimum
            if column.maximum is not None:
                ok &= numbers <= column.maximum
            if column.type == "integer":
                ok &= (np.floor(numbers) == numbers) & (np.abs(numbers) < _EXACT_FLOAT)
                array = pa.array(np.where(ok, numbers, 0).astype(np.int64), pa.int64())
            else:
                array = pa.array(numbers, pa.float64())
        return array, np.flatnonzero(~ok).tolist(), {}

    def _moments(self, cells: list[datetime]) -> Typed | None:
        # Naive date-formatted cells: `Converter._timestamp` and `_date` for days 1971-2036 that exist.
        if any(cell.tzinfo is not None for cell in cells):  # never from a reader; Python reads an offset
            return None
        try:
            local = pa.array(cells, pa.timestamp("us"))
            micros = local.cast(pa.int64()).to_numpy()
            ok = (micros >= _SAFE_US[0]) & (micros < _SAFE_US[1])
            if self.column.type == "date":
                return local.cast(pa.date32()), np.flatnonzero(~ok).tolist(), {}
            if self.offset_us is not None:  # the header names a fixed offset
                utc = pa.array(micros - self.offset_us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
            else:
                early = pc.assume_timezone(local, timezone=self.zone, ambiguous="earliest", nonexistent="earliest")
                late = pc.assume_timezone(local, timezone=self.zone, ambiguous="earliest", nonexistent="latest")
                ok &= _mask(pc.equal(early, late))  # they differ only for a time the zone skips
                utc = early
            return utc.cast(pa.timestamp("ms", tz="UTC"), safe=False), np.flatnonzero(~ok).tolist(), {}
        except (pa.ArrowException, OverflowError):  # no time zone database, a date Arrow cannot hold
            return None


def _mask(array: pa.Array) -> np.ndarray:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _groups(cells: tuple[object, ...]) -> dict[type, list[int] | None]:
    """Cell indices by class; None for "all of them" (the common case, a column of one class)."""
    kinds = set(map(type, cells))
    if len(kinds) == 1:
        return {kinds.pop(): None}
    groups: dict[type, list[int] | None] = {}
    for position, cell in enumerate(cells):
        groups.setdefault(cell.__class__, []).append(position)  # type: ignore[union-attr]
    return groups


def _type_column(slot: _Slot, cells: tuple[object, ...]) -> tuple[pa.Array, dict[int, tuple[object, str]]]:
    """One column's cells typed (an array as long as the batch), and its problems by position."""
    count = len(cells)
    pieces: list[tuple[list[int] | None, pa.Array]] = []
    problems: dict[int, tuple[object, str]] = {}
    one_by_one: list[int] = []
    for kind, positions in _groups(cells).items():
        bulk = slot.bulk(kind)
        typed = None
        if bulk is not None:
            typed = bulk(list(cells) if positions is None else [cells[p] for p in positions])
        if typed is None:
            one_by_one.extend(range(count) if positions is None else positions)
            continue
        values, retry, found = typed
        pieces.append((positions, values))
        place = (lambda k: k) if positions is None else positions.__getitem__
        one_by_one.extend(map(place, retry))
        problems.update((place(k), problem) for k, problem in found.items())
    if not one_by_one and not problems and len(pieces) == 1 and pieces[0][0] is None:
        return pieces[0][1], problems
    good: list[int] = []
    converted: list[object] = []
    for position in sorted(one_by_one):  # in row order: a remembering converter sees what it saw before
        ok, value, reason = attempt(slot.convert, cells[position])
        if ok:
            good.append(position)
            converted.append(value)
        else:
            problems[position] = (value, str(reason))
    pieces.append((good, pa.array(converted, slot.type)))
    return _assemble(pieces, count, slot.type), problems


def _assemble(pieces: list[tuple[list[int] | None, pa.Array]], count: int, kind: pa.DataType) -> pa.Array:
    """Pieces (positions, values) laid into one array of `count`; later pieces win; nulls where none is."""
    arrays = [values for _, values in pieces] + [pa.nulls(1, kind)]
    joined = pa.concat_arrays(arrays)
    order = np.full(count, len(joined) - 1, np.int64)
    offset = 0
    for positions, values in pieces:
        order[slice(None) if positions is None else positions] = np.arange(offset, offset + len(values))
        offset += len(values)
    return joined.take(pa.array(order))


def _first_overlong(columns: list[tuple[object, ...]], limit: int) -> tuple[int, int] | None:
    """The first text cell (row, then column order) longer than `limit` characters, as `typed_rows` meets it."""
    first: tuple[int, int] | None = None
    for order, cells in enumerate(columns):
        try:
            longest = max(map(len, cells), default=0)  # type: ignore[arg-type]
        except TypeError:  # not all text: measure the text
            longest = max((len(cell) for cell in cells if isinstance(cell, str)), default=0)
        if longest > limit:
            row = next((k for k, cell in enumerate(cells) if isinstance(cell, str) and len(cell) > limit), None)
            if row is not None and (first is None or (row, order) < first):
                first = (row, order)
    return first


def typed_batches(
    layout: Layout, sheet: SheetRows, rest: list[tuple[int, Row]], converter: Converter, *, batch_rows: int = BATCH_ROWS
) -> Iterator[TypedBatch]:
    """The sheet's data rows typed column by column, `batch_rows` rows at a time: `rows.typed_rows` in bulk.

    Yields a TypedBatch per batch (see it): the same good rows, values, partition days and problems, in
    the same order, that `typed_rows` and `Converter.local_date` give. Raises Refused exactly where and
    as `typed_rows` does (`max_rows`, `max_columns`, `max_cell_chars`), after the batches before it.
    """
    typing = _SheetTyping(layout, converter)
    limits = layout.form.limits
    source = chain(rest, sheet.rows)
    while raw := list(islice(source, batch_rows)):
        kept, refusal = _rows_with_values(raw, limits, sheet.name)
        transposed = list(zip_longest(*(row for _, row in kept))) if kept else []
        empty = (None,) * len(kept)
        columns = [transposed[s.index] if s.index < len(transposed) else empty for s in typing.slots]
        overlong = _first_overlong(columns, limits.max_cell_chars)
        if overlong is not None:
            row_at, order = overlong
            cell = columns[order][row_at]
            assert isinstance(cell, str)
            reason = f"a cell holds {len(cell):,} characters (limit {limits.max_cell_chars:,})"
            column = column_letter(typing.slots[order].index)
            raise Refused(reason, sheet=sheet.name, row=kept[row_at][0], column=column)
        if refusal is not None:
            raise refusal
        if kept:
            yield typing.batch(kept, columns)


def _rows_with_values(
    raw: list[tuple[int, Row]], limits: Limits, sheet: str
) -> tuple[list[tuple[int, Row]], Refused | None]:
    """The rows holding a value, up to the first a row limit refuses; and that refusal, if any."""
    if max(map(itemgetter(0), raw)) <= limits.max_rows and max(map(len, map(itemgetter(1), raw))) <= limits.max_columns:
        return [item for item in raw if _has_value(item[1])], None
    kept: list[tuple[int, Row]] = []
    for number, row in raw:
        if number > limits.max_rows:
            return kept, Refused(f"the sheet has more than {limits.max_rows:,} rows", sheet=sheet, row=number)
        if len(row) > limits.max_columns and any(cell is not None for cell in row[limits.max_columns :]):
            reason = f"the sheet has more than {limits.max_columns} columns"
            return kept, Refused(reason, sheet=sheet, row=number, column=column_letter(limits.max_columns))
        if _has_value(row):
            kept.append((number, row))
    return kept, None


def _has_value(row: Row) -> bool:
    # Empty rows (trailing ones, or spacers) are skipped. A reader's row ends in its last value, so
    # looking at that one settles almost every row; a CSV row of empty fields takes the long way.
    if row and (last := row[-1]) is not None and last != "":
        return True
    return any(cell is not None and cell != "" for cell in row)


class _SheetTyping:
    """The form's columns as the sheet holds them, typing one batch of rows at a time."""

    def __init__(self, layout: Layout, converter: Converter) -> None:
        form = layout.form
        self.converter = converter
        self.form_columns = form.columns
        self.slots = [_Slot(index, column, header, converter) for index, column, header in layout.columns]
        order = {column.name: position for position, column in enumerate(form.columns)}
        self.by_position = {order[slot.column.name]: k for k, slot in enumerate(self.slots)}
        present = {slot.column.name for slot in self.slots}
        self.absent = [c for c in form.columns if c.name not in present and c.required]
        self.partition = order[form.partition_by]

    def batch(self, kept: list[tuple[int, Row]], columns: list[tuple[object, ...]]) -> TypedBatch:
        """The rows `kept` (number, row), whose slot columns are `columns`, typed: see TypedBatch."""
        typed = [_type_column(slot, cells) for slot, cells in zip(self.slots, columns, strict=True)]
        found = [problems for _, problems in typed]
        bad = sorted(set().union(*found)) if not self.absent else list(range(len(kept)))
        problems: list[Problem] = []
        for position in bad:
            number = kept[position][0]
            for slot, slot_problems in zip(self.slots, found, strict=True):
                if position in slot_problems:
                    shown, reason = slot_problems[position]
                    problems.append(cell_problem(number, slot.index, slot.header, shown, reason))
            problems += [Problem(number, "-", c.name, "", "a value is required") for c in self.absent]
        good = np.ones(len(kept), bool)
        good[bad] = False
        keep = pa.array(good)
        arrays = [
            typed[self.by_position[p]][0].filter(keep)
            if p in self.by_position
            else pa.nulls(int(good.sum()), c.arrow_type)
            for p, c in enumerate(self.form_columns)
        ]
        numbers = pa.array([number for number, _ in kept], pa.int32()).filter(keep)
        return TypedBatch(numbers, arrays, partition_days(arrays[self.partition], self.converter), problems)


def partition_days(moments: pa.Array, converter: Converter) -> pa.Array:
    """Each typed partition value's day (date32), as `Converter.local_date` gives it: in the form's zone.

    `moments` is a date32 array (its own days) or a `timestamp[ms, UTC]` one without nulls.
    """
    if pa.types.is_date32(moments.type):
        return moments
    millis = moments.cast(pa.int64()).to_numpy(zero_copy_only=False)
    safe = (millis >= _SAFE_MS[0]) & (millis < _SAFE_MS[1])
    try:
        zoned = moments.cast(pa.timestamp("ms", tz=converter.form.timezone))
        days = pc.local_timestamp(zoned).cast(pa.date32())
    except pa.ArrowException:  # no time zone database: Python's
        safe[:] = False
        days = pa.nulls(len(moments), pa.date32())
    if safe.all():
        return days
    listed: list[date | None] = days.to_pylist()
    for k in np.flatnonzero(~safe).tolist():
        listed[k] = converter.local_date(moments[k].as_py())
    return pa.array(listed, pa.date32())
