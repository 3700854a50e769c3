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

from shoplake import lake_layout
from shoplake.clickstream.redrive import main, redrive
from shoplake.clickstream.transform import OLDEST

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
    report = json.loads(capsys.readouterr().out)
    assert report["objects"] == 1 and report["repaired"] == 1
    assert [item["object"] for item in report["unrepaired"]] == [KEY]
    assert "teleport" in report["unrepaired"][0]["reason"]
    # AND the object moved, keeping its whole path under errors/, the failing record beside it
    suffix = KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)
    assert _keys(s3) == [
        lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + suffix,
        lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED + suffix,
    ]


def test_a_damaged_error_object_is_named_and_left_where_it_is(aws: tuple[Any, Any]) -> None:
    # GIVEN an error object whose second line is not a failed record
    s3, kinesis = aws
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=(_failed(_event("e-1")) + '{"attemptsMade": 4}\n').encode())
    # WHEN redriven
    with pytest.raises(ValueError, match=rf"s3://{BUCKET}/{KEY} line 2 has no field 'rawData'"):
        redrive(s3, kinesis, BUCKET, STREAM)
    # THEN nothing moved
    assert _keys(s3) == [KEY]
