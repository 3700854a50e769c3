"""One survey file from the inbox to the lake, or to quarantine with the reason.

The S3 client is passed in; nothing here reads the environment. The outcome says what
happened in enough detail for the uploader's Slack message.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoplake import lake_layout
from shoplake.s3_notifications import ObjectCreated
from shoplake.surveys.forms import Form
from shoplake.surveys.links import CONTENT_TYPES
from shoplake.surveys.markup import marked_copy
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.upload_thread import upload_metadata, upload_name
from shoplake.surveys.workbook import SUPPORTED_SUFFIXES, Refused

# Writing the outputs, telling the uploader and filing the original take seconds; with less time left
# than this the function stops before writing anything, rather than time out with part of a file visible.
WRITE_RESERVE_SECONDS = 30.0
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
    quarantine report's URI; `reason` why it was quarantined (or already handled, or superseded);
    `version_id` the S3 version read (None in an unversioned bucket); `upload_id` the id every output of this
    upload is named by (`ObjectCreated.upload_id`); `marked_copy` the s3:// URI of the uploader's file with
    each rejected cell marked (`keep_marked_copy`), or `marked_copy_note` saying why there is none.
    """

    status: str  # ingested | quarantined | already_handled | superseded | folder
    source: str
    file_name: str
    version_id: str | None = None
    upload_id: str = ""
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
    marked_copy: str | None = None
    marked_copy_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every field by name, JSON-ready (the handler's response)."""
        return dict(self.__dict__)

    def for_the_log(self) -> dict[str, Any]:
        """What the function's log keeps of it: names, places and counts, never a survey answer.

        Everything but what can quote a cell: each problem keeps its row, column and header (not its
        `value`, nor its `reason`, which may repeat the value: "6 is above the maximum 5"); `reason`
        (a quarantine's can quote a CSV line or a damaged cell) is left to the quarantine report at
        `report` and the uploader's notice; `ignored_columns` becomes their number. Skipped sheets keep
        their names and reasons, which name sheets and forms only (`layout.SkippedSheet`).
        """
        kept = {k: v for k, v in self.__dict__.items() if k not in _NOT_LOGGED}
        kept["problems"] = [{k: p[k] for k in _PROBLEM_PLACE if k in p} for p in self.problems]
        kept["ignored_columns"] = len(self.ignored_columns)
        kept["reason_in_report"] = self.reason is not None
        return kept


# Outcome fields that can quote a cell, kept out of the log (Outcome.for_the_log); a problem's place is kept.
_NOT_LOGGED = frozenset({"reason", "problems", "ignored_columns"})
_PROBLEM_PLACE = ("row", "column", "header")


# Told what became of an upload; `ingest` calls it before the original leaves the inbox, so a crash in
# between leaves the file where a retry finds it, and the retry's notice (same id) is the same notice.
Announce = Callable[[Outcome], None]


def _this_version(upload: ObjectCreated) -> dict[str, str]:
    return {"VersionId": upload.version_id} if upload.version_id else {}


def _filed_key(upload: ObjectCreated, destination: str) -> str:
    return lake_layout.moved_key(upload.key, destination, upload.upload_id)


def file_away(s3: Any, upload: ObjectCreated, destination: str) -> str:
    """Copy exactly this upload to its own key under `destination`, then remove it from the inbox; returns the key.

    The key is `lake_layout.moved_key` with the upload id, so a retry copies to the same place. The version
    itself is deleted (no delete marker), so inbox/ keeps only what nobody has handled: an older upload of
    the same name, not yet handled, becomes current again until its own event takes it. `s3` is a boto3 S3
    client; its errors are raised as they come.
    """
    target = _filed_key(upload, destination)
    source = {"Bucket": upload.bucket, "Key": upload.key, **_this_version(upload)}
    s3.copy_object(Bucket=upload.bucket, Key=target, CopySource=source)
    s3.delete_object(Bucket=upload.bucket, Key=upload.key, **_this_version(upload))
    return target


def quarantine(s3: Any, upload: ObjectCreated, outcome: Outcome, refusal: Refused, announce: Announce) -> Outcome:
    """Put a report in quarantine/ naming what is wrong and where, announce, then move the original beside it.

    The original goes to `lake_layout.moved_key(key, "quarantine/", upload_id)` and the report is that key
    plus `.report.json` (UTF-8 JSON: file, version_id, reason, sheet/row/column, form, problems, `quarantined_at`
    in UTC). Fills in `outcome` (status, reason, where things are) and returns it. `s3` is a boto3 S3 client;
    its errors are raised as they come.
    """
    if refusal.skipped and not outcome.skipped_sheets:  # a file refused for its sheets says which were looked at
        outcome.skipped_sheets = refusal.skipped
    moved = _filed_key(upload, lake_layout.SURVEY_QUARANTINE)
    report_key = moved + lake_layout.QUARANTINE_REPORT_SUFFIX
    report = {
        "file": outcome.source,
        "version_id": upload.version_id,
        "quarantined_as": f"s3://{upload.bucket}/{moved}",
        "reason": refusal.reason,
        "sheet": refusal.sheet,
        "row": refusal.row,
        "column": refusal.column,
        "form": outcome.form,
        "rows_rejected": outcome.rows_rejected,
        "problems": outcome.problems,
        "skipped_sheets": outcome.skipped_sheets,
        "marked_copy": outcome.marked_copy,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    s3.put_object(
        Bucket=upload.bucket,
        Key=report_key,
        Body=json.dumps(report, ensure_ascii=False, indent=2).encode(),
        ContentType="application/json",
    )
    outcome.status = "quarantined"
    outcome.reason = refusal.reason
    outcome.original_now = f"s3://{upload.bucket}/{moved}"
    outcome.report = f"s3://{upload.bucket}/{report_key}"
    if refusal.sheet and not outcome.sheet:
        outcome.sheet = refusal.sheet
    announce(outcome)
    file_away(s3, upload, lake_layout.SURVEY_QUARANTINE)
    return outcome


def _where(refusal: Refused) -> str:
    parts = [f"sheet {refusal.sheet!r}" if refusal.sheet and refusal.sheet != "csv" else None]
    parts += [f"row {refusal.row}" if refusal.row else None, f"column {refusal.column}" if refusal.column else None]
    return ", ".join(p for p in parts if p)


def _located(refusal: Refused) -> Refused:
    located = _where(refusal)
    reason = f"{refusal.reason}{' (' + located + ')' if located else ''}"
    return Refused(reason, sheet=refusal.sheet, row=refusal.row, column=refusal.column)


def keep_marked_copy(
    s3: Any,
    upload: ObjectCreated,
    config: IngestConfig,
    outcome: Outcome,
    *,
    parsed: Parsed,
    path: Path,
    emptied: bool,
    deadline: float,
) -> None:
    """Put the uploader's file, each rejected cell marked (`markup.marked_copy`), beside the inbox; note where.

    The copy goes to `lake_layout.marked_key` in the upload's bucket (a retry replaces it) and its s3:// URI
    into `outcome.marked_copy`. Without problems nothing is made. A copy that cannot be made (too large for
    the time left before `deadline`, on `time.monotonic()`, or a workbook openpyxl cannot load) never costs
    the upload: `outcome.marked_copy_note` says why. `s3` is a boto3 S3 client; its errors are raised.
    """
    if not parsed.problems:
        return
    try:
        copy = marked_copy(
            path,
            outcome.file_name,
            parsed.layout.sheet,
            parsed.layout.header_row,
            parsed.problems,
            emptied=emptied,
            memory_budget_bytes=config.memory_budget_bytes,
            deadline=deadline,
        )
    except Exception as error:  # noqa: BLE001 - the copy is a help; failing to make it never costs the upload
        outcome.marked_copy_note = (
            f"no marked-up copy could be made ({type(error).__name__}); the report lists each cell"
        )
        return
    if copy is None:
        outcome.marked_copy_note = "the file is too large to mark up in the time left; the report lists each cell"
        return
    key = lake_layout.marked_key(upload.key, upload.upload_id, copy.suffix)
    s3.put_object(Bucket=upload.bucket, Key=key, Body=copy.body, ContentType=CONTENT_TYPES[copy.suffix])
    outcome.marked_copy = f"s3://{upload.bucket}/{key}"


class OutOfTimeError(RuntimeError):
    """Reading a file left too little of the invocation's time to write it whole; nothing was written."""


def _gone(error: Any) -> bool:
    return error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def ingest(
    s3: Any,
    upload: ObjectCreated,
    config: IngestConfig,
    announce: Announce,
    seconds_left: Callable[[], float] = lambda: float("inf"),
) -> Outcome:
    """Read exactly the uploaded version against the forms; write Parquet and rejects, or quarantine it.

    Good rows go to `surveys/<table>/year=/month=/day=/part-<upload_id>.parquet` in the lake bucket (its S3
    metadata naming the upload: `upload_thread.upload_metadata`), bad rows
    (if any) to `survey_rejects/<table>/<upload_id>.json`; then `announce(outcome)`; then the original goes to
    `processed/` (`file_away`). Every name carries the upload id, so two uploads under one key never overwrite
    each other and a retry of one replaces its own outputs. The file is quarantined instead when it is over
    `max_upload_bytes`, of an unsupported type, refused by the readers, has no data rows, or more than the
    form's `max_reject_ratio` of its rows fail. Status `already_handled` when this version is no longer in the
    bucket (nothing announced); `superseded` (announced) when, in an unversioned bucket, the key now holds
    another file than the event named; `folder` (nothing announced, nothing moved) for a key ending in `/`,
    the empty object the S3 console's "Create folder" makes. Raises `OutOfTimeError`, having written nothing,
    when after reading fewer than `WRITE_RESERVE_SECONDS` of `seconds_left()` remain. `s3` is a boto3 S3
    client; other S3 errors, and `announce`'s, are raised.
    """
    name = upload.key.rsplit("/", 1)[-1]
    outcome = Outcome(
        status="ingested",
        source=f"s3://{upload.bucket}/{upload.key}",
        file_name=name,
        version_id=upload.version_id,
        upload_id=upload.upload_id,
    )
    if upload.key.endswith("/"):
        # The S3 console's "Create folder" puts an empty object named like this: no file, nobody to tell.
        outcome.status = "folder"
        outcome.reason = "a folder, not a file: left where it is"
        return outcome
    try:
        head = s3.head_object(Bucket=upload.bucket, Key=upload.key, **_this_version(upload))
    except s3.exceptions.ClientError as error:
        if _gone(error):
            outcome.status = "already_handled"
            outcome.reason = "this upload is no longer in the inbox: an earlier delivery of its event handled it"
            return outcome
        raise
    if not upload.version_id and upload.etag and head.get("ETag", "").strip('"') != upload.etag.strip('"'):
        # Without versions the file this event named is gone; reading the newer one would ingest it twice.
        outcome.status = "superseded"
        outcome.reason = (
            "another file was uploaded under the same name before this one could be read, and the bucket keeps "
            "no versions; the newer file is handled on its own. Upload this one again under another name"
        )
        announce(outcome)
        return outcome
    with tempfile.TemporaryDirectory(prefix="survey-") as work:
        path = Path(work) / ("upload" + Path(name).suffix.lower())
        try:
            if head["ContentLength"] > config.max_upload_bytes:
                raise Refused(
                    f"the file is {head['ContentLength']:,} bytes, over the {config.max_upload_bytes:,}-byte limit"
                )
            if not name.lower().endswith(SUPPORTED_SUFFIXES):
                raise Refused(f"unsupported file type {Path(name).suffix or '(none)'}: upload .xlsx, .xlsm or .csv")
            s3.download_file(upload.bucket, upload.key, str(path), ExtraArgs=_this_version(upload) or None)
            parsed = read_survey(path, name, upload.key, config.forms, config.memory_budget_bytes)
        except Refused as refusal:
            return quarantine(s3, upload, outcome, _located(refusal), announce)
        if seconds_left() < WRITE_RESERVE_SECONDS:
            raise OutOfTimeError(
                f"reading {name} took so long that the function would have timed out while writing it; nothing "
                "was written and the file is still in the inbox"
            )
        return _take(s3, upload, config, outcome, parsed, path, announce, seconds_left)


def _take(  # noqa: PLR0917 - one upload's whole state, passed on from `ingest`
    s3: Any,
    upload: ObjectCreated,
    config: IngestConfig,
    outcome: Outcome,
    parsed: Parsed,
    path: Path,
    announce: Announce,
    seconds_left: Callable[[], float],
) -> Outcome:
    layout, problems = parsed.layout, parsed.problems
    form = layout.form
    outcome.form, outcome.sheet, outcome.reader = form.key, layout.sheet, parsed.reader
    outcome.ignored_columns = list(layout.ignored)
    outcome.skipped_sheets = [s.as_dict() for s in parsed.skipped]
    outcome.rows_rejected = len({p.row for p in problems})
    outcome.problems = [p.as_dict() for p in problems[:REPORTED_PROBLEMS]]
    total = parsed.rows + outcome.rows_rejected
    if total == 0:
        return quarantine(s3, upload, outcome, Refused("no data rows under the header", sheet=layout.sheet), announce)
    # Making the copy may take what time is left, less what writing and telling need.
    deadline = time.monotonic() + seconds_left() - WRITE_RESERVE_SECONDS
    if outcome.rows_rejected / total > form.max_reject_ratio:
        too_many = Refused(
            f"{outcome.rows_rejected} of {total} rows failed validation, more than the form's "
            f"{form.max_reject_ratio:.0%} limit; nothing was ingested",
            sheet=layout.sheet,
        )
        keep_marked_copy(s3, upload, config, outcome, parsed=parsed, path=path, emptied=False, deadline=deadline)
        return quarantine(s3, upload, outcome, too_many, announce)
    table_prefix = lake_layout.survey_table_prefix(form.table)
    for day, body in parsed.partitions.items():
        out_key = f"{table_prefix}{lake_layout.partition_path(day)}part-{upload.upload_id}.parquet"
        # The upload rides with its partition to the quality check, whose result replies in its thread.
        s3.put_object(
            Bucket=config.lake_bucket,
            Key=out_key,
            Body=body,
            Metadata=upload_metadata(upload_name(outcome.source, outcome.upload_id)),
        )
        outcome.outputs.append(f"s3://{config.lake_bucket}/{out_key}")
    outcome.rows_ingested = parsed.rows
    if problems:
        rejects_key = f"{lake_layout.survey_rejects_prefix(form.table)}{upload.upload_id}.json"
        document = {
            "file": outcome.source,
            "version_id": upload.version_id,
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
        keep_marked_copy(s3, upload, config, outcome, parsed=parsed, path=path, emptied=True, deadline=deadline)
    outcome.original_now = f"s3://{upload.bucket}/{_filed_key(upload, lake_layout.SURVEY_PROCESSED)}"
    announce(outcome)
    file_away(s3, upload, lake_layout.SURVEY_PROCESSED)
    return outcome
