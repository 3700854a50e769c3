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

The clickstream is at least once (the producer retries, and a redrive cut off between putting an
object's records and moving the object puts them again when run again): its consumers count each
`event_id` once.

    python -m shoplake.clickstream.redrive --bucket <lake> --stream <stream> [--prefix clickstream/errors/...]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shoplake import lake_layout
from shoplake.clickstream.producer import Entry, batches, put_with_retries
from shoplake.clickstream.transform import OK, OLDEST, transform

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


@dataclass
class RedriveReport:
    """What a redrive did: error objects read, records put back on the stream, each record still failing,
    and each error object left alone.

    `unrepaired` holds `{"object": <error object key>, "reason": <today's reason>}` per record;
    `not_redriven` holds `{"object": <key>, "reason": <why>}` per object outside `processing-failed/`.
    """

    objects: int = 0
    repaired: int = 0
    unrepaired: list[dict[str, str]] = field(default_factory=list)
    not_redriven: list[dict[str, str]] = field(default_factory=list)


def _error_objects(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def _failed_records(body: bytes, where: str) -> list[dict[str, Any]]:
    """The JSON lines of one error object; ValueError naming the object and line if one is not a failed record."""
    records = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{where} line {number} is not JSON ({error}); nothing was redriven from it") from None
        if not isinstance(record, dict) or not isinstance(record.get("rawData"), str):
            raise ValueError(f"{where} line {number} has no field 'rawData'; nothing was redriven from it")
        records.append(record)
    return records


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
    within an object are left out. The object then moves to `clickstream/errors-redriven/<same path>`.
    Objects under `prefix` but outside `processing-failed/` are not read: `report.not_redriven` names them.

    `progress`, if given, hears each step once it is done, so that a run cut off shows how far it got:
    `{"step": "put", "object", "records"}` (Kinesis took them all), `{"step": "kept", "object", "records",
    "at"}` (the still-failing ones written), `{"step": "moved", "object", "to"}` and `{"step": "skipped",
    "object", "reason"}`. A run cut off after "put" and before "moved" puts that object's records again
    when run again: the clickstream's consumers count each `event_id` once.

    `s3` and `kinesis` are boto3 clients. Raises RuntimeError naming the object when Kinesis still refuses
    repaired records (that object is not moved; earlier ones are), ValueError naming the object and line
    for a line that is not JSON or has no `rawData`, and the clients' errors as they come.
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
        lines = _failed_records(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), f"s3://{bucket}/{key}")
        report.objects += 1
        # Re-run the transform as Firehose will when the record comes back: arriving now.
        attempt = transform(
            [
                {"recordId": str(i), "approximateArrivalTimestamp": now_ms, "data": line["rawData"]}
                for i, line in enumerate(lines)
            ]
        )
        reasons = dict(attempt.failures)
        repaired: list[Entry] = []
        still_failing: list[dict[str, Any]] = []
        for i, (line, result) in enumerate(zip(lines, attempt.records, strict=True)):
            if result["result"] == OK:
                payload = base64.b64decode(line["rawData"])
                session = json.loads(payload).get("session_id") or "redrive"
                repaired.append(Entry(payload, str(session)[:256]))
            elif result["result"] != "Dropped":
                still_failing.append({**line, "redriveReason": reasons.get(str(i), "unknown")})
        refused = [e for batch in batches(repaired) for e in put_with_retries(kinesis, stream, batch)]
        if refused:
            raise RuntimeError(f"Kinesis refused {len(refused)} repaired records from {key}; nothing was moved")
        report.repaired += len(repaired)
        tell({"step": "put", "object": key, "records": len(repaired)})
        suffix = key.removeprefix(ERRORS_PREFIX)  # the path under errors/ is kept, whatever part of it was asked for
        if still_failing:
            body = "".join(json.dumps(line) + "\n" for line in still_failing)
            s3.put_object(Bucket=bucket, Key=UNREPAIRED_PREFIX + suffix, Body=body.encode())
            report.unrepaired += [{"object": key, "reason": line["redriveReason"]} for line in still_failing]
            tell({"step": "kept", "object": key, "records": len(still_failing), "at": UNREPAIRED_PREFIX + suffix})
        s3.copy_object(Bucket=bucket, Key=REDRIVEN_PREFIX + suffix, CopySource={"Bucket": bucket, "Key": key})
        s3.delete_object(Bucket=bucket, Key=key)
        tell({"step": "moved", "object": key, "to": REDRIVEN_PREFIX + suffix})
    return report


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

Prints each step to stderr as one JSON line once it is done (put, kept, moved, skipped), then the
report to stdout as JSON: objects read, records repaired, each unrepaired record's object and
reason, each object not redriven. An object with a line that is not such a record stops the run,
named, and stays where it is. If Kinesis keeps refusing repaired records, it stops with an error
and leaves that object where it is.

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
