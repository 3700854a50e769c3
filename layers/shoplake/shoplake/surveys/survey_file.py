"""A survey file read against the forms: typed Parquet bytes per partition day, and every problem.

Reads a local file (`workbook` and `csv_file` open it, `layout` finds the form, `columns` types the rows
column by column as `rows` defines each cell); nothing here touches S3. Parquet files are zstd-compressed,
one per partition day, in the form's schema (`Form.arrow_schema`), written a batch at a time so memory
stays flat.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoplake.surveys.columns import BATCH_ROWS, TypedBatch, typed_batches
from shoplake.surveys.forms import Form
from shoplake.surveys.layout import Layout, SkippedSheet, find_layout, skipped_after
from shoplake.surveys.rows import Converter, Problem
from shoplake.surveys.workbook import Row, SheetRows, open_survey_file


class _PartitionWriter:
    """Typed batches into one in-memory Parquet file per partition day, flushed every BATCH_ROWS rows."""

    def __init__(self, form: Form, source: str) -> None:
        self.schema = form.arrow_schema()
        self.form = form
        self.source = source
        self.pending: dict[date, list[pa.RecordBatch]] = {}
        self.pending_rows = 0
        self.files: dict[date, tuple[pa.BufferOutputStream, pq.ParquetWriter]] = {}
        self.rows = 0

    def add(self, batch: TypedBatch) -> None:
        count = len(batch.numbers)
        if not count:
            return
        # A stable sort by day keeps each day's rows in sheet order; each day is then one slice.
        order = pc.sort_indices(batch.days)
        runs = pc.value_counts(batch.days.take(order))  # in order of first appearance: the sorted days
        columns = [array.take(order) for array in batch.arrays]
        columns.append(pa.array([self.source] * count, pa.string()))
        columns.append(batch.numbers.take(order))
        columns.append(pa.array([self.form.version] * count, pa.int16()))
        table = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        start = 0
        for run in runs.to_pylist():
            self.pending.setdefault(run["values"], []).append(table.slice(start, run["counts"]))
            start += run["counts"]
        self.rows += count
        self.pending_rows += count
        # Flush every day once this many rows wait, however they spread over days: memory stays flat.
        if self.pending_rows >= BATCH_ROWS:
            for waiting in list(self.pending):
                self._flush(waiting)
            self.pending_rows = 0

    def _flush(self, day: date) -> None:
        batches = self.pending.pop(day, [])
        if not batches:
            return
        if day not in self.files:
            sink = pa.BufferOutputStream()
            self.files[day] = (sink, pq.ParquetWriter(sink, self.schema, compression="zstd"))
        self.files[day][1].write_table(pa.Table.from_batches(batches, schema=self.schema))

    def finish(self) -> dict[date, bytes]:
        for day in list(self.pending):
            self._flush(day)
        out = {}
        for day, (sink, writer) in sorted(self.files.items()):
            writer.close()
            out[day] = sink.getvalue().to_pybytes()
        return out


@dataclass
class Parsed:
    """A survey file read against the forms: Parquet bytes per partition day, and every problem."""

    layout: Layout
    reader: str
    rows: int
    partitions: dict[date, bytes]
    problems: list[Problem]
    skipped: tuple[SkippedSheet, ...] = ()


def read_survey(path: Path, name: str, source: str, forms: Sequence[Form], memory_budget_bytes: int) -> Parsed:
    """Read a local survey file; raises `Refused` if the file as a whole cannot be taken.

    `name` is the uploaded file name (its suffix picks the reader); `source` goes into every row's
    `source_file`; the first form's limits govern the archive check. Returns the matched layout, the
    reader, the count of good rows, zstd-compressed Parquet bytes per partition day, every problem, and
    the sheets skipped with the reason for each. Scratch files live in a temporary folder removed on return.
    """
    with tempfile.TemporaryDirectory(prefix="survey-read-") as work:
        sheets, reader = open_survey_file(path, name, forms[0].limits, memory_budget_bytes, Path(work))
        layout, sheet, rest = find_layout(sheets, forms)
        rows, partitions, problems = typed_partitions(
            layout, sheet, rest, Converter(layout.form, sheet.date1904), source
        )
        skipped = (*layout.skipped, *skipped_after(sheets, layout, forms))
    return Parsed(layout, reader, rows, partitions, problems, skipped)


def typed_partitions(
    layout: Layout,
    sheet: SheetRows,
    rest: list[tuple[int, Row]],
    converter: Converter,
    source: str,
    *,
    batch_rows: int = BATCH_ROWS,
) -> tuple[int, dict[date, bytes], list[Problem]]:
    """A found sheet's data rows (`rest`, then the sheet's) typed and written: `columns.typed_batches`.

    Returns the count of good rows, zstd-compressed Parquet bytes per partition day (in day order) and
    every problem, in row order; raises Refused as `typed_batches` does. `batch_rows` rows are typed at once.
    """
    writer = _PartitionWriter(layout.form, source)
    problems: list[Problem] = []
    for batch in typed_batches(layout, sheet, rest, converter, batch_rows=batch_rows):
        writer.add(batch)
        problems.extend(batch.problems)
    return writer.rows, writer.finish(), problems
