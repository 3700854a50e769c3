"""Repair what the transform failed: Firehose's processing-failed records.

Read the error prefix, re-run the current transform on each processing-failed record, put what now
passes back on the stream, and report what still cannot be repaired, step by step as it goes.

Only `clickstream/errors/processing-failed/` holds records as the shop sent them. Firehose writes
a record it could not convert to Parquet under `format-conversion-failed/`, and that record is the
transform's own output (conversion follows transformation), which the transform must not read again
(it would drop `client_ip_prefix` as a field outside its input contract): it needs the Glue table's
schema fixed, not a redrive, and the redrive names it and leaves it where it is. Sources: "Handling
errors for data format conversion" (the record Firehose could not deserialize, in `rawData`) and
"Convert input data format" (a Lambda transform turns input into the JSON that is converted),
https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html and
https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html.

Nothing is deleted: each error object read is moved under `clickstream/errors-redriven/`, and
the records that still fail are written, with today's reason, under `clickstream/errors-unrepaired/`,
each at the path it had under `clickstream/errors/`.

The redrive never stops at a record. A line of an error object that is not a processing-failed record
(not JSON, a line cut off at the end of the object, no text `rawData`) is reported with its line number
and kept, as text, in the object's errors-unrepaired/ file; the rest of the object is redriven and the
run goes on. The line is kept decoded from UTF-8 with undecodable bytes replaced (U+FFFD), so that
the file reads as text: its exact bytes stay in the object moved to errors-redriven/, at that line.

The clickstream is at least once (the producer retries, and a redrive cut off between putting an
object's records and moving the object puts them again when run again): its consumers count each
`event_id` once.

    python -m shoplake.clickstream.redrive --bucket <lake> --stream <stream> [--prefix clickstream/errors/...]
"""

from __future__ import annotations

import argparse
import base64
import codecs
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shoplake import lake_layout
from shoplake.clickstream.producer import MAX_RECORD_BYTES, Entry, batches, put_with_retries
from shoplake.clickstream.transform import DROPPED, OK, OLDEST, transform

ERRORS_PREFIX = lake_layout.CLICKSTREAM_ERRORS
REDRIVEN_PREFIX = lake_layout.CLICKSTREAM_ERRORS_REDRIVEN
UNREPAIRED_PREFIX = lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED
# The folders under ERRORS_PREFIX are Firehose's !{firehose:error-output-type} (template.yaml's
# ErrorOutputPrefix); its values: "Understand custom prefixes for Amazon S3 objects",
# https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html.
PROCESSING_FAILED = "processing-failed"  # the transform answered ProcessingFailed, or could not be invoked
FORMAT_CONVERSION_FAILED = "format-conversion-failed"  # rawData is the transformed record (see the docstring)
NOT_REDRIVEN = {
    FORMAT_CONVERSION_FAILED: "the record is already transformed and did not match the Glue table "
    "clickstream_events: fix the table's schema (contract.FIELDS); a redrive would transform it again",
}
Progress = Callable[[dict[str, Any]], None]
# A damaged line's reason is cut to this many characters (a JSON error can quote the line).
_REASON_LENGTH = 200
# A repaired record goes back keyed by its session_id, as the producer keys it; this key stands in for none.
NO_SESSION_KEY = "redrive"


@dataclass
class RedriveReport:
    """What a redrive did: error objects read, records put back on the stream, each record still failing,
    each damaged line, and each error object left alone.

    `unrepaired` holds `{"object": <error object key>, "line": <its line, from 1>, "reason": <today's
    reason>}` per record; `damaged` holds the same per line that is not a processing-failed record;
    `not_redriven` holds `{"object": <key>, "reason": <why>}` per object outside `processing-failed/`.
    """

    objects: int = 0
    repaired: int = 0
    unrepaired: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[dict[str, Any]] = field(default_factory=list)
    not_redriven: list[dict[str, str]] = field(default_factory=list)


def _error_objects(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def _failed_records(body: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """One error object's lines: its processing-failed records and its damaged lines. Never raises.

    Lines end at LF, a CR before it is dropped, a UTF-8 BOM opening the object is skipped and blank lines
    are passed over; numbers count from 1, as an editor shows them. Returns `[(number, record)]` for each
    JSON object with a text `rawData`, and `[{"line": number, "rawLine": <the line as text, undecodable
    bytes as U+FFFD>, "redriveReason": <why it is not a record>}]` for each other line.
    """
    records: list[tuple[int, dict[str, Any]]] = []
    damaged: list[dict[str, Any]] = []
    for number, ended in enumerate(body.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1):
        line = ended.removesuffix(b"\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (
            ValueError,
            RecursionError,
        ) as error:  # UnicodeDecodeError is a ValueError; RecursionError: deep nesting
            reason = f"not JSON ({type(error).__name__}: {error})"
        else:
            if isinstance(record, dict) and isinstance(record.get("rawData"), str):
                records.append((number, record))
                continue
            reason = "not a processing-failed record: no text field 'rawData'"
        text = line.decode("utf-8", errors="replace")
        damaged.append({"line": number, "rawLine": text, "redriveReason": reason[:_REASON_LENGTH]})
    return records, damaged


def _entry(raw_data: str) -> Entry | str:
    """The Kinesis record for a repaired `rawData`, keyed by its text `session_id` (else NO_SESSION_KEY), or
    why it cannot go back (a record Kinesis would refuse, which would hold back the object's other records)."""
    try:
        payload = base64.b64decode(raw_data, validate=True)
    except ValueError:  # binascii.Error is one; the transform decodes alike, so this is only a safety net
        return "rawData: not base64"
    try:
        session = json.loads(payload).get("session_id")
    except (ValueError, RecursionError, AttributeError):  # AttributeError: JSON but not an object
        session = None
    entry = Entry(payload, session[:256] if isinstance(session, str) and session else NO_SESSION_KEY)
    if entry.size > MAX_RECORD_BYTES:
        return f"rawData: {entry.size} bytes with its partition key, over Kinesis's {MAX_RECORD_BYTES} per record"
    return entry


def _error_type(key: str) -> str:
    """The error output type an error object was written under: its first folder below ERRORS_PREFIX."""
    return key.removeprefix(ERRORS_PREFIX).split("/", 1)[0]


def redrive(
    s3: Any, kinesis: Any, bucket: str, stream: str, prefix: str = ERRORS_PREFIX, *, progress: Progress | None = None
) -> RedriveReport:
    """Re-run the transform on every processing-failed error object under `prefix`, and put what now passes back.

    Each object is JSON lines in Firehose's processing-failed format (`rawData` is the base64 record;
    https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html). Records
    are judged as if arriving now; repaired ones go to Kinesis keyed by their `session_id`; still-failing
    ones are written, with `redriveReason`, under `clickstream/errors-unrepaired/<same path>`; duplicates
    within an object are left out. A line that is not such a record (see `_failed_records`) is written
    there too, as `{"line", "rawLine", "redriveReason"}`, in line order with the records, and the rest of
    the object is redriven. The object then moves to `clickstream/errors-redriven/<same path>`.
    Objects under `prefix` but outside `processing-failed/` are not read: `report.not_redriven` names them.

    `progress`, if given, hears each step once it is done, so that a run cut off shows how far it got:
    `{"step": "damaged", "object", "line", "reason"}` (a line read that is not a record), `{"step": "put",
    "object", "records"}` (Kinesis took them all), `{"step": "kept", "object", "records", "damaged", "at"}`
    (the still-failing records and damaged lines written), `{"step": "moved", "object", "to"}` and
    `{"step": "skipped", "object", "reason"}`. A run cut off after "put" and before "moved" puts that
    object's records again when run again: the clickstream's consumers count each `event_id` once.

    `s3` and `kinesis` are boto3 clients. No record's content stops the run. Raises RuntimeError naming the
    object when Kinesis still refuses repaired records (that object is not moved; earlier ones are), and
    the clients' errors as they come.
    """
    report = RedriveReport()
    tell = progress or (lambda _step: None)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for key in list(_error_objects(s3, bucket, prefix)):
        kind = _error_type(key)
        if kind != PROCESSING_FAILED:
            reason = NOT_REDRIVEN.get(kind, f"not a transform failure: only {PROCESSING_FAILED}/ records are redriven")
            report.not_redriven.append({"object": key, "reason": reason})
            tell({"step": "skipped", "object": key, "reason": reason})
            continue
        records, damaged = _failed_records(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        report.objects += 1
        for line in damaged:
            report.damaged.append({"object": key, "line": line["line"], "reason": line["redriveReason"]})
            tell({"step": "damaged", "object": key, "line": line["line"], "reason": line["redriveReason"]})
        # Re-run the transform as Firehose will when the record comes back: arriving now.
        attempt = transform(
            [
                {"recordId": str(i), "approximateArrivalTimestamp": now_ms, "data": record["rawData"]}
                for i, (_, record) in enumerate(records)
            ]
        )
        reasons = dict(attempt.failures)
        repaired: list[Entry] = []
        still_failing: list[tuple[int, dict[str, Any]]] = []
        for i, ((number, record), result) in enumerate(zip(records, attempt.records, strict=True)):
            entry = _entry(record["rawData"]) if result["result"] == OK else reasons.get(str(i), "unknown")
            if isinstance(entry, Entry):
                repaired.append(entry)
            elif result["result"] != DROPPED:
                still_failing.append((number, {**record, "redriveReason": entry}))
        refused = [e for batch in batches(repaired) for e in put_with_retries(kinesis, stream, batch)]
        if refused:
            raise RuntimeError(f"Kinesis refused {len(refused)} repaired records from {key}; nothing was moved")
        report.repaired += len(repaired)
        tell({"step": "put", "object": key, "records": len(repaired)})
        suffix = key.removeprefix(ERRORS_PREFIX)  # the path under errors/ is kept, whatever part of it was asked for
        report.unrepaired += [
            {"object": key, "line": number, "reason": record["redriveReason"]} for number, record in still_failing
        ]
        if still_failing or damaged:
            kept = sorted(
                [*still_failing, *((line["line"], line) for line in damaged)], key=lambda numbered: numbered[0]
            )
            body = "".join(_kept_line(number, line) + "\n" for number, line in kept)
            s3.put_object(Bucket=bucket, Key=UNREPAIRED_PREFIX + suffix, Body=body.encode())
            at = UNREPAIRED_PREFIX + suffix
            tell({"step": "kept", "object": key, "records": len(still_failing), "damaged": len(damaged), "at": at})
        s3.copy_object(Bucket=bucket, Key=REDRIVEN_PREFIX + suffix, CopySource={"Bucket": bucket, "Key": key})
        s3.delete_object(Bucket=bucket, Key=key)
        tell({"step": "moved", "object": key, "to": REDRIVEN_PREFIX + suffix})
    return report


def _kept_line(number: int, line: dict[str, Any]) -> str:
    """A still-failing line as JSON; one too deeply nested to write again keeps its rawData, line and reason
    (the whole line stays in errors-redriven/ at the same line number)."""
    try:
        return json.dumps(line)
    except (RecursionError, ValueError, TypeError):
        essentials = {key: line.get(key) for key in ("rawData", "rawLine", "redriveReason")}
        return json.dumps({"line": number, **essentials, "note": "the rest of the line was nested too deeply to copy"})


USAGE = "python -m shoplake.clickstream.redrive --bucket <lake bucket> --stream <stream> [--prefix <prefix>]"
DESCRIPTION = f"""\
Redrive the clickstream records the transform failed (Firehose's processing-failed records).

For each object under --prefix in {ERRORS_PREFIX}{PROCESSING_FAILED}/ (one JSON line per record,
the record as the shop sent it in rawData), every record runs through the current transform again,
as if arriving now:
- a record that now passes is put back on --stream (PutRecords, keyed by its session_id), and
  Firehose delivers it to the lake again;
- a record that still fails is written under {UNREPAIRED_PREFIX} with today's reason
  (redriveReason), as is always an event more than {OLDEST.days} days old;
- an exact duplicate of another record in the same object is not put back twice.
The object itself then moves to {REDRIVEN_PREFIX}, keeping its path under {ERRORS_PREFIX}:
nothing is deleted, and a second run does not read it again.

Not redriven: {ERRORS_PREFIX}{FORMAT_CONVERSION_FAILED}/ holds records Firehose could not convert
to Parquet, and those are already transformed (their rawData is the stored record, client_ip_prefix
and all): they need the Glue table clickstream_events fixed to match the contract, not a redrive,
which would transform them again and lose fields. Such objects, and any other error type, are
named in the report (not_redriven) and stay where they are.

A damaged line, one that is not such a record (not JSON, cut off at the end of the object, no
rawData), does not stop the run: it is reported with its line number and written under
{UNREPAIRED_PREFIX} as {{"line", "rawLine", "redriveReason"}}, rawLine being the line as UTF-8
text (undecodable bytes replaced; the exact bytes stay in the object under {REDRIVEN_PREFIX});
the object's other records are redriven and the run goes on to the next object.

Prints each step to stderr as one JSON line once it is done (damaged, put, kept, moved, skipped),
then the report to stdout as JSON: objects read, records repaired, each unrepaired record's object,
line and reason, each damaged line's, each object not redriven. If Kinesis keeps refusing repaired
records, it stops with an error and leaves that object where it is.

The clickstream is at least once: a run stopped between an object's "put" and its "moved" (Kinesis
refusing records, a lost connection, Ctrl-C) puts that object's records again when run again, so
the lake may hold an event twice. Its consumers count each event_id once (the hourly ETL), or count
distinct sessions and visitors (the analytics queries).
AWS credentials and region come from the environment, as for the AWS CLI.
"""


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a thin command over redrive()
    """The command line (usage in DESCRIPTION): each step to stderr, the report to stdout as JSON; returns 0."""
    import boto3  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="python -m shoplake.clickstream.redrive",
        usage=USAGE,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bucket", required=True, help="the lake bucket (stack output LakeBucketName)")
    parser.add_argument("--stream", required=True, help="the clickstream stream (stack output ClickstreamStreamName)")
    parser.add_argument(
        "--prefix",
        default=ERRORS_PREFIX,
        help=f"only the objects under this prefix, within {ERRORS_PREFIX} "
        f"(e.g. {ERRORS_PREFIX}{PROCESSING_FAILED}/year=2026/month=11/day=24/); default: all of them, "
        f"of which only {PROCESSING_FAILED}/ is redriven",
    )
    args = parser.parse_args(argv)
    if not args.prefix.startswith(ERRORS_PREFIX):
        parser.error(
            f"--prefix {args.prefix!r} is not under {ERRORS_PREFIX}, where Firehose writes what it could not deliver"
        )
    report = redrive(
        boto3.client("s3"), boto3.client("kinesis"), args.bucket, args.stream, args.prefix, progress=_print_step
    )
    print(json.dumps(report.__dict__, indent=2))  # noqa: T201
    return 0


def _print_step(step: dict[str, Any]) -> None:
    print(json.dumps(step), file=sys.stderr, flush=True)  # noqa: T201 - the command's progress, as it goes


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
