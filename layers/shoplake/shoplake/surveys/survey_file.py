"""A survey file read against the forms: typed Parquet bytes per partition day, and every problem.

Reads a local file (`workbook` and `csv_file` open it, `layout` finds the form, `rows` types the rows);
nothing here touches S3. Parquet files are zstd-compressed, one per partition day, in the form's schema
(`Form.arrow_schema`), written a batch at a time so memory stays flat.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shoplake.surveys.forms import Form
from shoplake.surveys.layout import Layout, SkippedSheet, find_layout, skipped_after
from shoplake.surveys.rows import Converter, Problem, TypedRow, typed_rows
from shoplake.surveys.workbook import open_survey_file

BATCH_ROWS = 10_000


class _PartitionWriter:
    """Typed rows into one in-memory Parquet file per partition day, a batch at a time."""

    def __init__(self, form: Form, source: str) -> None:
        self.schema = form.arrow_schema()
        self.form = form
        self.source = source
        self.width = len(form.columns)
        self.pending: dict[date, list[TypedRow]] = {}
        self.pending_rows = 0
        self.files: dict[date, tuple[pa.BufferOutputStream, pq.ParquetWriter]] = {}
        self.rows = 0

    def add(self, day: date, row: TypedRow) -> None:
        self.pending.setdefault(day, []).append(row)
        self.rows += 1
        self.pending_rows += 1
        # Flush every day once this many rows wait, however they spread over days: memory stays flat.
        if self.pending_rows >= BATCH_ROWS:
            for waiting in list(self.pending):
                self._flush(waiting)
            self.pending_rows = 0

    def _flush(self, day: date) -> None:
        rows = self.pending.pop(day, [])
        if not rows:
            return
        arrays = [pa.array([r.values[i] for r in rows], type=self.schema.field(i).type) for i in range(self.width)]
        arrays.append(pa.array([self.source] * len(rows), type=pa.string()))
        arrays.append(pa.array([r.number for r in rows], type=pa.int32()))
        arrays.append(pa.array([self.form.version] * len(rows), type=pa.int16()))
        if day not in self.files:
            sink = pa.BufferOutputStream()
            self.files[day] = (sink, pq.ParquetWriter(sink, self.schema, compression="zstd"))
        self.files[day][1].write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))

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
        converter = Converter(layout.form, sheet.date1904)
        partition_index = [c.name for c in layout.form.columns].index(layout.form.partition_by)
        writer = _PartitionWriter(layout.form, source)
        problems: list[Problem] = []
        for result in typed_rows(layout, sheet, rest, converter):
            if isinstance(result, TypedRow):
                writer.add(converter.local_date(result.values[partition_index]), result)
            else:
                problems.extend(result)
        skipped = (*layout.skipped, *skipped_after(sheets, layout, forms))
    return Parsed(layout, reader, writer.rows, writer.finish(), problems, skipped)
