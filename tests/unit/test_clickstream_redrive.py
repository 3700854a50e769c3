"""The clickstream redrive's command: its help says what it does, and it does that (moto in-process)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.template import load_template
from shoplake import lake_layout
from shoplake.clickstream.redrive import FORMAT_CONVERSION_FAILED, PROCESSING_FAILED, main, redrive
from shoplake.clickstream.transform import OLDEST, transform

BUCKET, STREAM = "shoplake-dev-lake-123456789012", "shoplake-dev-clickstream"
KEY = "clickstream/errors/processing-failed/year=2026/month=11/day=24/hour=05/outage-1"


def _failed(event: dict[str, Any]) -> str:
    """One line of an error object, in Firehose's processing-failed format."""
    raw = base64.b64encode(json.dumps(event).encode()).decode()
    return json.dumps({"attemptsMade": 4, "errorCode": "Lambda.InvokeLimitExceeded", "rawData": raw}) + "\n"


def _event(event_id: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {"event_id": event_id, "event_time": now, "event_type": "page_view", "session_id": "s-1"}
    return event | changes


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        s3, kinesis = boto3.client("s3"), boto3.client("kinesis")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        yield s3, kinesis


def _keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_the_help_names_the_command_and_the_places_it_reads_and_writes(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN an operator asks for help
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    text = capsys.readouterr().out
    # THEN it is the command they type, and every place it names is the one the code uses
    assert exited.value.code == 0
    assert text.startswith("usage: python -m shoplake.clickstream.redrive --bucket")
    for prefix in (
        lake_layout.CLICKSTREAM_ERRORS,
        lake_layout.CLICKSTREAM_ERRORS_REDRIVEN,
        lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED,
    ):
        assert prefix in text
    assert f"more than {OLDEST.days} days old" in text
    assert "LakeBucketName" in text and "ClickstreamStreamName" in text
    # AND it says what it leaves alone, and that a run cut off puts records again
    assert f"Not redriven: {lake_layout.CLICKSTREAM_ERRORS}{FORMAT_CONVERSION_FAILED}/" in text
    assert "at least once" in text and "count each event_id once" in text


def test_the_error_types_are_the_folders_firehose_writes_under_the_error_prefix() -> None:
    # The redrive tells processing failures from format-conversion ones by the folder Firehose names them by.
    stream = load_template()["Resources"]["ClickstreamDeliveryStream"]["Properties"]
    error_prefix = stream["ExtendedS3DestinationConfiguration"]["ErrorOutputPrefix"]
    assert error_prefix.startswith(lake_layout.CLICKSTREAM_ERRORS + "!{firehose:error-output-type}/")


def test_a_prefix_outside_the_error_objects_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bucket", BUCKET, "--stream", STREAM, "--prefix", lake_layout.CLICKSTREAM_EVENTS])
    assert exited.value.code == 2
    assert f"is not under {lake_layout.CLICKSTREAM_ERRORS}" in capsys.readouterr().err


def test_the_command_redrives_and_prints_its_report(aws: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an error object with one record that now passes, one that never will, and a duplicate
    s3, _ = aws
    body = _failed(_event("e-1")) + _failed(_event("e-2", event_type="teleport")) + _failed(_event("e-1"))
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body.encode())
    # WHEN the command runs over one day's part of the errors
    day = "clickstream/errors/processing-failed/year=2026/month=11/day=24/"
    assert main(["--bucket", BUCKET, "--stream", STREAM, "--prefix", day]) == 0
    # THEN it reports what it did: one object, one record back on the stream, one kept with its reason
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert report["objects"] == 1 and report["repaired"] == 1
    assert [item["object"] for item in report["unrepaired"]] == [KEY]
    assert "teleport" in report["unrepaired"][0]["reason"]
    # AND the object moved, keeping its whole path under errors/, the failing record beside it
    suffix = KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)
    assert _keys(s3) == [
        lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + suffix,
        lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED + suffix,
    ]
    # AND each step was printed to stderr as it was done
    # (only its step lines: a warning another test's leftover thread writes to stderr may land here too)
    steps = [json.loads(line) for line in printed.err.splitlines() if line.startswith('{"step"')]
    assert [(step["step"], step["object"]) for step in steps] == [("put", KEY), ("kept", KEY), ("moved", KEY)]


def test_a_damaged_error_object_is_named_and_left_where_it_is(aws: tuple[Any, Any]) -> None:
    # GIVEN an error object whose second line is not a failed record
    s3, kinesis = aws
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=(_failed(_event("e-1")) + '{"attemptsMade": 4}\n').encode())
    # WHEN redriven
    with pytest.raises(ValueError, match=rf"s3://{BUCKET}/{KEY} line 2 has no field 'rawData'"):
        redrive(s3, kinesis, BUCKET, STREAM)
    # THEN nothing moved
    assert _keys(s3) == [KEY]


class _CopyFailsOnce:
    """An S3 client whose first copy_object fails as a dropped connection does: the move is cut off."""

    def __init__(self, real: Any) -> None:
        self.real, self.failed = real, False

    def copy_object(self, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("Connection was closed before we received a valid response from endpoint")
        return self.real.copy_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _on_stream(kinesis: Any) -> list[str]:
    """The event_id of every record on the stream, in order."""
    shard = kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["Shards"][0]["ShardId"]
    at = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return [
        json.loads(r["Data"])["event_id"] for r in kinesis.get_records(ShardIterator=at["ShardIterator"])["Records"]
    ]


def test_a_redrive_cut_off_before_the_move_shows_how_far_it_got_and_a_second_run_finishes(aws: tuple[Any, Any]) -> None:
    # GIVEN an error object with two records that now pass
    s3, kinesis = aws
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=(_failed(_event("e-1")) + _failed(_event("e-2"))).encode())
    # WHEN a run is cut off after putting them on the stream, before moving the object
    steps: list[dict[str, Any]] = []
    with pytest.raises(ConnectionError):
        redrive(_CopyFailsOnce(s3), kinesis, BUCKET, STREAM, progress=steps.append)
    # THEN what it did is known: both records put, the object not moved
    assert steps == [{"step": "put", "object": KEY, "records": 2}]
    assert _keys(s3) == [KEY]
    # WHEN run again
    again: list[dict[str, Any]] = []
    report = redrive(s3, kinesis, BUCKET, STREAM, progress=again.append)
    # THEN it finishes: the object moved; the records are on the stream at least once (twice, here), none
    # lost: the clickstream is at least once, and its consumers count each event_id once
    assert [step["step"] for step in again] == ["put", "moved"] and report.repaired == 2
    assert _keys(s3) == [lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)]
    assert _on_stream(kinesis) == ["e-1", "e-2", "e-1", "e-2"]


def test_format_conversion_failures_are_named_and_left_for_a_schema_fix(aws: tuple[Any, Any]) -> None:
    # GIVEN a record the transform stored and Firehose then could not convert to Parquet: its rawData is the
    # stored record (client_ip_prefix, no client_ip), under format-conversion-failed/, beside a processing failure
    s3, kinesis = aws
    sent = base64.b64encode(json.dumps(_event("e-3", client_ip="203.0.113.77")).encode()).decode()
    (stored,) = transform([{"recordId": "1", "approximateArrivalTimestamp": _now_ms(), "data": sent}]).records
    assert json.loads(base64.b64decode(stored["data"]))["client_ip_prefix"] == "203.0.113.0/24"
    converting = KEY.replace(PROCESSING_FAILED, FORMAT_CONVERSION_FAILED)
    line = {"attemptsMade": 1, "errorCode": "DataFormatConversion.InvalidSchema", "rawData": stored["data"]}
    s3.put_object(Bucket=BUCKET, Key=converting, Body=(json.dumps(line) + "\n").encode())
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=_failed(_event("e-1")).encode())
    # WHEN the errors are redriven
    steps: list[dict[str, Any]] = []
    report = redrive(s3, kinesis, BUCKET, STREAM, progress=steps.append)
    # THEN the already transformed record is not transformed again (which would drop its network): it is
    # named, with what it needs, and stays where it is; the processing failure is redriven
    assert [item["object"] for item in report.not_redriven] == [converting]
    assert "fix the table's schema" in report.not_redriven[0]["reason"]
    assert ("skipped", converting) in [(step["step"], step["object"]) for step in steps]
    assert _on_stream(kinesis) == ["e-1"] and report.objects == 1
    assert converting in _keys(s3)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
