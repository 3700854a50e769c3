"""Survey rows typed column by column, a batch of rows at a time: `rows.typed_rows`' answers, in bulk.

A batch of rows (`BATCH_ROWS`) is turned into one tuple of cells per form column, and each column is
typed by `column_types`: in bulk where Arrow can vouch for a cell, through the per-cell
`rows.Converter` otherwise. A row with any bad cell is rejected whole with all its problems; the good
rows leave as Arrow arrays, with their partition days. Refusals (too many rows, columns, characters in
a cell) are raised where and as `typed_rows` raises them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import chain, islice, zip_longest
from operator import itemgetter

import pyarrow as pa
import pyarrow.compute as pc

from shoplake.surveys.column_types import SAFE_MICROS, ColumnTyping, Group, group_cells, type_column, where
from shoplake.surveys.forms import Limits
from shoplake.surveys.layout import Layout
from shoplake.surveys.rows import Converter, Problem, cell_problem
from shoplake.surveys.workbook import Refused, Row, SheetRows, column_letter

BATCH_ROWS = 10_000
# A batch's cells are held as Python objects while it is typed (about 100 bytes each): a wide sheet is
# typed in fewer rows at a time, so that a batch stays near 20 MB whatever the sheet's width.
BATCH_CELLS = 200_000
_SAFE_MILLIS = (SAFE_MICROS[0] // 1000, SAFE_MICROS[1] // 1000)


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


def _first_overlong(grouped: list[dict[type, Group]], limit: int) -> tuple[int, int] | None:
    """The first text cell (row, then column order) longer than `limit` characters, as `typed_rows` meets it."""
    first: tuple[int, int] | None = None
    for order, groups in enumerate(grouped):
        texts = groups.get(str)
        if texts is None:
            continue
        if texts.text is not None:
            over = where(pc.greater(pc.utf8_length(texts.text), limit))  # code points, as Python's len counts
        else:
            over = [k for k, text in enumerate(texts.cells) if len(text) > limit]
        if over:
            row = texts.place(over[0])
            if first is None or (row, order) < first:
                first = (row, order)
    return first


def typed_batches(
    layout: Layout, sheet: SheetRows, rest: list[tuple[int, Row]], converter: Converter, *, batch_rows: int = BATCH_ROWS
) -> Iterator[TypedBatch]:
    """The sheet's data rows typed column by column, `batch_rows` rows at a time: `rows.typed_rows` in bulk.

    A sheet wider than `BATCH_CELLS` / `batch_rows` columns is typed in fewer rows at a time.

    Yields a TypedBatch per batch (see it): the same good rows, values, partition days and problems, in
    the same order, that `typed_rows` and `Converter.local_date` give. Raises Refused exactly where and
    as `typed_rows` does (`max_rows`, `max_columns`, `max_cell_chars`), after the batches before it.
    """
    typing = _SheetTyping(layout, converter, sheet.name)
    source = chain(rest, sheet.rows)
    width = max((slot.index for slot in typing.slots), default=0) + 1
    at_once = max(1, min(batch_rows, BATCH_CELLS // width))
    while raw := list(islice(source, at_once)):
        batch = typing.rows(raw)
        del raw  # one batch's cells alive at a time: the next is read after this one is let go
        if batch is not None:
            yield batch


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

    def __init__(self, layout: Layout, converter: Converter, sheet: str) -> None:
        form = layout.form
        self.sheet = sheet
        self.limits = form.limits
        self.converter = converter
        self.form_columns = form.columns
        self.slots = [ColumnTyping(index, column, header, converter) for index, column, header in layout.columns]
        order = {column.name: position for position, column in enumerate(form.columns)}
        self.by_position = {order[slot.column.name]: k for k, slot in enumerate(self.slots)}
        present = {slot.column.name for slot in self.slots}
        self.absent = [c for c in form.columns if c.name not in present and c.required]
        self.partition = order[form.partition_by]

    def rows(self, raw: list[tuple[int, Row]]) -> TypedBatch | None:
        """A batch of (number, row) typed, None if it holds no value; raises Refused as `typed_rows` would."""
        limits = self.limits
        kept, refusal = _rows_with_values(raw, limits, self.sheet)
        transposed = list(zip_longest(*(row for _, row in kept))) if kept else []
        empty = (None,) * len(kept)
        grouped = [group_cells(transposed[s.index] if s.index < len(transposed) else empty) for s in self.slots]
        overlong = _first_overlong(grouped, limits.max_cell_chars)
        if overlong is not None:
            row_at, order = overlong
            cell = kept[row_at][1][self.slots[order].index]
            assert isinstance(cell, str)
            reason = f"a cell holds {len(cell):,} characters (limit {limits.max_cell_chars:,})"
            column = column_letter(self.slots[order].index)
            raise Refused(reason, sheet=self.sheet, row=kept[row_at][0], column=column)
        if refusal is not None:
            raise refusal
        return self.batch(kept, grouped) if kept else None

    def batch(self, kept: list[tuple[int, Row]], grouped: list[dict[type, Group]]) -> TypedBatch:
        """The rows `kept` (number, row), whose slots' cells are `grouped` (`group_cells`), typed: see TypedBatch."""
        typed = [type_column(slot, groups, len(kept)) for slot, groups in zip(self.slots, grouped, strict=True)]
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
        good = [True] * len(kept)
        for position in bad:
            good[position] = False
        keep = pa.array(good, pa.bool_())
        arrays = [
            typed[self.by_position[p]][0].filter(keep)
            if p in self.by_position
            else pa.nulls(len(kept) - len(bad), c.arrow_type)
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
    millis = moments.cast(pa.int64())
    safe = pc.and_(pc.greater_equal(millis, _SAFE_MILLIS[0]), pc.less(millis, _SAFE_MILLIS[1]))
    try:
        zoned = moments.cast(pa.timestamp("ms", tz=converter.form.timezone))
        days = pc.local_timestamp(zoned).cast(pa.date32())
    except pa.ArrowException:  # no time zone database: Python's
        safe = pa.repeat(False, len(moments))
        days = pa.nulls(len(moments), pa.date32())
    unsafe = where(pc.invert(safe))
    if not unsafe:
        return days
    listed: list[date | None] = days.to_pylist()
    for k in unsafe:
        listed[k] = converter.local_date(moments[k].as_py())
    return pa.array(listed, pa.date32())
