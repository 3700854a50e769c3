"""Repair what Firehose could not deliver.

Read the error prefix, re-run the current transform, put what now passes back on the stream, and
report what still cannot be repaired.

Nothing is deleted: each error object read is moved under `clickstream/errors-redriven/`, and
the records that still fail are written, with today's reason, under `clickstream/errors-unrepaired/`,
each at the path it had under `clickstream/errors/`.

    python -m shoplake.clickstream.redrive --bucket <lake> --stream <stream> [--prefix clickstream/errors/...]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shoplake import lake_layout
from shoplake.clickstream.producer import Entry, batches, put_with_retries
from shoplake.clickstream.transform import OK, OLDEST, transform

ERRORS_PREFIX = lake_layout.CLICKSTREAM_ERRORS
REDRIVEN_PREFIX = lake_layout.CLICKSTREAM_ERRORS_REDRIVEN
UNREPAIRED_PREFIX = lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED


@dataclass
class RedriveReport:
    """What a redrive did: error objects read, records put back on the stream, and each record still failing.

    `unrepaired` holds `{"object": <error object key>, "reason": <today's reason>}` per record.
    """

    objects: int = 0
    repaired: int = 0
    unrepaired: list[dict[str, str]] = field(default_factory=list)


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


def redrive(s3: Any, kinesis: Any, bucket: str, stream: str, prefix: str = ERRORS_PREFIX) -> RedriveReport:
    """Re-run the transform on every error object under `prefix`, and put what now passes back on `stream`.

    Each object is JSON lines in Firehose's processing-failed format (`rawData` is the base64 record;
    https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html). Records
    are judged as if arriving now; repaired ones go to Kinesis keyed by their `session_id`; still-failing
    ones are written, with `redriveReason`, under `clickstream/errors-unrepaired/<same path>`; duplicates
    within an object are left out. The object then moves to `clickstream/errors-redriven/<same path>`.

    `s3` and `kinesis` are boto3 clients. Raises RuntimeError naming the object when Kinesis still refuses
    repaired records (that object is not moved; earlier ones are), KeyError for a line without `rawData`,
    ValueError for a line that is not JSON, and the clients' errors as they come.
    """
    report = RedriveReport()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for key in list(_error_objects(s3, bucket, prefix)):
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
        suffix = key.removeprefix(ERRORS_PREFIX)  # the path under errors/ is kept, whatever part of it was asked for
        if still_failing:
            body = "".join(json.dumps(line) + "\n" for line in still_failing)
            s3.put_object(Bucket=bucket, Key=UNREPAIRED_PREFIX + suffix, Body=body.encode())
            report.unrepaired += [{"object": key, "reason": line["redriveReason"]} for line in still_failing]
        s3.copy_object(Bucket=bucket, Key=REDRIVEN_PREFIX + suffix, CopySource={"Bucket": bucket, "Key": key})
        s3.delete_object(Bucket=bucket, Key=key)
    return report


USAGE = "python -m shoplake.clickstream.redrive --bucket <lake bucket> --stream <stream> [--prefix <prefix>]"
DESCRIPTION = f"""\
Redrive the clickstream records Firehose could not deliver to the lake.

For each object under --prefix (Firehose's processing-failed format: one JSON line per record,
the record in rawData), every record runs through the current transform again, as if arriving now:
- a record that now passes is put back on --stream (PutRecords, keyed by its session_id), and
  Firehose delivers it to the lake again;
- a record that still fails is written under {UNREPAIRED_PREFIX} with today's reason
  (redriveReason), as is always an event more than {OLDEST.days} days old;
- an exact duplicate of another record in the same object is not put back twice.
The object itself then moves to {REDRIVEN_PREFIX}, keeping its path under {ERRORS_PREFIX}:
nothing is deleted, and a second run does not redrive it again.

Prints what it did as JSON: objects read, records repaired, and each unrepaired record's object and reason.
An object with a line that is not such a record stops the run, named, and stays where it is.
If Kinesis keeps refusing repaired records, it stops with an error and leaves that object where it
is; a second run puts all of that object's repaired records again, so those Kinesis took the first
time arrive twice.
AWS credentials and region come from the environment, as for the AWS CLI.
"""


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a thin command over redrive()
    """The command line (usage in the module docstring): prints the report as JSON, returns exit status 0."""
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
        f"(e.g. {ERRORS_PREFIX}processing-failed/year=2026/month=11/day=24/); default: all of them",
    )
    args = parser.parse_args(argv)
    if not args.prefix.startswith(ERRORS_PREFIX):
        parser.error(
            f"--prefix {args.prefix!r} is not under {ERRORS_PREFIX}, where Firehose writes what it could not deliver"
        )
    report = redrive(boto3.client("s3"), boto3.client("kinesis"), args.bucket, args.stream, args.prefix)
    print(json.dumps(report.__dict__, indent=2))  # noqa: T201
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
