"""One survey file from the inbox to the lake, or to quarantine with the reason.

The S3 client is passed in; nothing here reads the environment. The outcome says what
happened in enough detail for the uploader's Slack message.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shoplake import lake_layout
from shoplake.surveys.forms import Form
from shoplake.surveys.layout import Layout, SkippedSheet, find_layout, skipped_after
from shoplake.surveys.rows import Converter, Problem, TypedRow, typed_rows
from shoplake.surveys.workbook import SUPPORTED_SUFFIXES, Refused, open_survey_file

BATCH_ROWS = 10_000
REPORTED_PROBLEMS = 100
# The fast reader holds a whole sheet; it may take this share of the function's memory.
MEMORY_SHARE_FOR_SHEET = 0.4


def memory_budget(function_memory_mb: int) -> int:
    """Bytes the fast reader may hold for a sheet: 40% of the function's memory (Lambda MB, taken as MiB)."""
    return int(function_memory_mb * 2**20 * MEMORY_SHARE_FOR_SHEET)


@dataclass(frozen=True)
class IngestConfig:
    """What `ingest` needs besides the file.

    The lake bucket's name, the forms (see `forms.all_forms`), the largest upload in bytes, and the fast
    reader's memory budget in bytes (`memory_budget`).
    """

    lake_bucket: str
    forms: Sequence[Form]
    max_upload_bytes: int
    memory_budget_bytes: int


@dataclass
class Outcome:
    """What became of one survey file, for the log and the uploader's Slack message.

    `source` is the file's s3:// URI; `form` a form key; `reader` the reader used; `problems` at most 100
    `Problem.as_dict()`s; `outputs` the s3:// URIs of the Parquet files written (one per day); `rejects`
    the s3:// URI of the rejected-rows report; `original_now` where the file was moved; `report` the
    quarantine report's URI; `reason` why it was quarantined (or already handled).
    """

    status: str  # ingested | quarantined | already_handled
    source: str
    file_name: str
    form: str | None = None
    sheet: str | None = None
    reader: str | None = None
    rows_ingested: int = 0
    rows_rejected: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    rejects: str | None = None
    original_now: str | None = None
    report: str | None = None
    reason: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    skipped_sheets: list[dict[str, str | None]] = field(default_factory=list)  # SkippedSheet.as_dict()

    def as_dict(self) -> dict[str, Any]:
        """Every field by name, JSON-ready (the handler's response and log)."""
        return dict(self.__dict__)


def file_id(bucket: str, key: str) -> str:
    """A stable id of a source file: the first 20 hex digits of SHA-256 of `"<bucket>/<key>"`.

    The same source file always writes the same output keys: a redelivery replaces, never duplicates.
    """
    return hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:20]


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


def _move(s3: Any, bucket: str, key: str, destination: str) -> str:
    target = lake_layout.moved_key(key, destination)
    s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
    s3.delete_object(Bucket=bucket, Key=key)
    return target


def quarantine(s3: Any, bucket: str, key: str, outcome: Outcome, refusal: Refused) -> Outcome:
    """Move the original to quarantine/ and put a report beside it naming what is wrong and where.

    The report is `<quarantined key>.report.json` (UTF-8 JSON: file, reason, sheet/row/column, form,
    problems, `quarantined_at` in UTC). Fills in `outcome` (status, reason, where things are) and returns
    it. `s3` is a boto3 S3 client; its errors are raised as they come (the move copies, then deletes).
    """
    moved = _move(s3, bucket, key, lake_layout.SURVEY_QUARANTINE)
    report_key = moved + lake_layout.QUARANTINE_REPORT_SUFFIX
    report = {
        "file": f"s3://{bucket}/{key}",
        "quarantined_as": f"s3://{bucket}/{moved}",
        "reason": refusal.reason,
        "sheet": refusal.sheet,
        "row": refusal.row,
        "column": refusal.column,
        "form": outcome.form,
        "rows_rejected": outcome.rows_rejected,
        "problems": outcome.problems,
        "skipped_sheets": outcome.skipped_sheets,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    s3.put_object(
        Bucket=bucket,
        Key=report_key,
        Body=json.dumps(report, ensure_ascii=False, indent=2).encode(),
        ContentType="application/json",
    )
    outcome.status = "quarantined"
    outcome.reason = refusal.reason
    outcome.original_now = f"s3://{bucket}/{moved}"
    outcome.report = f"s3://{bucket}/{report_key}"
    if refusal.sheet and not outcome.sheet:
        outcome.sheet = refusal.sheet
    return outcome


def _where(refusal: Refused) -> str:
    parts = [f"sheet {refusal.sheet!r}" if refusal.sheet and refusal.sheet != "csv" else None]
    parts += [f"row {refusal.row}" if refusal.row else None, f"column {refusal.column}" if refusal.column else None]
    return ", ".join(p for p in parts if p)


def ingest(s3: Any, bucket: str, key: str, config: IngestConfig) -> Outcome:
    """Read the file at s3://bucket/key against the forms; write Parquet and rejects, or quarantine it.

    Good rows go to `surveys/<table>/year=/month=/day=/part-<file_id>.parquet` in the lake bucket, bad rows
    (if any) to `survey_rejects/<table>/<file_id>.json`, and the original to `processed/`. The file is quarantined
    instead when it is over `max_upload_bytes`, of an unsupported type, refused by the readers, has no
    data rows, or more than the form's `max_reject_ratio` of its rows fail. A key no longer in the bucket
    (404) gives status `already_handled`. `s3` is a boto3 S3 client; other S3 errors are raised.
    """
    name = key.rsplit("/", 1)[-1]
    outcome = Outcome(status="ingested", source=f"s3://{bucket}/{key}", file_name=name)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            outcome.status = "already_handled"
            outcome.reason = "the file is no longer in the inbox: an earlier delivery of this event handled it"
            return outcome
        raise
    try:
        if head["ContentLength"] > config.max_upload_bytes:
            raise Refused(
                f"the file is {head['ContentLength']:,} bytes, over the {config.max_upload_bytes:,}-byte limit"
            )
        if not name.lower().endswith(SUPPORTED_SUFFIXES):
            raise Refused(f"unsupported file type {Path(name).suffix or '(none)'}: upload .xlsx, .xlsm or .csv")
        with tempfile.TemporaryDirectory(prefix="survey-") as work:
            path = Path(work) / ("upload" + Path(name).suffix.lower())
            s3.download_file(bucket, key, str(path))
            parsed = read_survey(path, name, key, config.forms, config.memory_budget_bytes)
    except Refused as refusal:
        located = _where(refusal)
        return quarantine(
            s3,
            bucket,
            key,
            outcome,
            Refused(
                f"{refusal.reason}{' (' + located + ')' if located else ''}",
                sheet=refusal.sheet,
                row=refusal.row,
                column=refusal.column,
            ),
        )
    layout, problems = parsed.layout, parsed.problems
    form = layout.form
    outcome.form, outcome.sheet, outcome.reader = form.key, layout.sheet, parsed.reader
    outcome.ignored_columns = list(layout.ignored)
    outcome.skipped_sheets = [s.as_dict() for s in parsed.skipped]
    outcome.rows_rejected = len({p.row for p in problems})
    outcome.problems = [p.as_dict() for p in problems[:REPORTED_PROBLEMS]]
    total = parsed.rows + outcome.rows_rejected
    if total == 0:
        return quarantine(s3, bucket, key, outcome, Refused("no data rows under the header", sheet=layout.sheet))
    if outcome.rows_rejected / total > form.max_reject_ratio:
        too_many = Refused(
            f"{outcome.rows_rejected} of {total} rows failed validation, more than the form's "
            f"{form.max_reject_ratio:.0%} limit; nothing was ingested",
            sheet=layout.sheet,
        )
        return quarantine(s3, bucket, key, outcome, too_many)
    identity = file_id(bucket, key)
    table_prefix = lake_layout.survey_table_prefix(form.table)
    for day, body in parsed.partitions.items():
        out_key = f"{table_prefix}{lake_layout.partition_path(day)}part-{identity}.parquet"
        s3.put_object(Bucket=config.lake_bucket, Key=out_key, Body=body)
        outcome.outputs.append(f"s3://{config.lake_bucket}/{out_key}")
    outcome.rows_ingested = parsed.rows
    if problems:
        rejects_key = f"{lake_layout.survey_rejects_prefix(form.table)}{identity}.json"
        document = {
            "file": outcome.source,
            "form": form.key,
            "sheet": layout.sheet,
            "rows_rejected": outcome.rows_rejected,
            "problems": [p.as_dict() for p in problems],
        }
        s3.put_object(
            Bucket=config.lake_bucket,
            Key=rejects_key,
            Body=json.dumps(document, ensure_ascii=False, indent=1).encode(),
            ContentType="application/json",
        )
        outcome.rejects = f"s3://{config.lake_bucket}/{rejects_key}"
    outcome.original_now = f"s3://{bucket}/{_move(s3, bucket, key, lake_layout.SURVEY_PROCESSED)}"
    return outcome
