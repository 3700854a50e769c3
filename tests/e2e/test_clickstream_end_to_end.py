"""Clickstream end to end on the local stack: producer → Kinesis → Firehose + transform → lake, and redrive."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from local_stack.firehose import _prefix
from local_stack.glue_jobs import LakeMirror
from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack
from shoplake.business import business_date, stored_time
from shoplake.clickstream.producer import ClickstreamProducer
from shoplake.clickstream.redrive import REDRIVEN_PREFIX, UNREPAIRED_PREFIX, redrive
from shoplake_etl.steps import run_clickstream_hourly, staged_path
from tests.unit.test_clickstream_redrive import _CopyFailsOnce

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def stack(tmp_path) -> Iterator[LocalStack]:
    with SlackSink() as sink, LocalStack(slack_sink=sink, work_dir=tmp_path) as running:
        yield running


def _event(i: int, when: datetime, **changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": f"e-{i}",
        "event_time": stored_time(when),
        "event_type": "product_view",
        "session_id": f"s-{i % 3}",
        "product_id": "P-1001",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "client_ip": "198.51.100.23",
        "country": "CA",
    }
    event.update(changes)
    return event


def _keys(stack: LocalStack, prefix: str) -> list[str]:
    listing = stack.client("s3").list_objects_v2(Bucket=stack.output("LakeBucketName"), Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _rows(stack: LocalStack, keys: list[str]) -> list[dict[str, object]]:
    s3, lake = stack.client("s3"), stack.output("LakeBucketName")
    return [
        row
        for key in keys
        for row in pq.read_table(io.BytesIO(s3.get_object(Bucket=lake, Key=key)["Body"].read())).to_pylist()
    ]


def test_events_land_in_the_hour_they_happened_and_bad_ones_under_the_error_prefix(stack: LocalStack) -> None:
    # GIVEN events from this hour and from two hours ago, and two that break the contract
    earlier = NOW - timedelta(hours=2)
    producer = ClickstreamProducer(
        stack.task_client("kinesis"), stack.output("ClickstreamStreamName"), linger_seconds=0.01
    )
    for i in range(6):
        producer.emit(_event(i, NOW if i % 2 else earlier))
    producer.emit(_event(90, NOW, event_type="teleport"))
    producer.emit(_event(91, NOW, session_id=None))
    producer.close()
    # WHEN the stream is delivered
    stack.deliver_pending()
    # THEN the good events are Parquet under their own hours
    data = _keys(stack, "clickstream/events/")
    hours = {key.split("/hour=")[0].split("events/")[1] + "/hour=" + key.split("/hour=")[1][:2] for key in data}
    assert hours == {f"year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}" for t in (NOW, earlier)}
    rows = _rows(stack, data)
    assert sorted(str(r["event_id"]) for r in rows) == [f"e-{i}" for i in range(6)]
    assert {r["client_ip_prefix"] for r in rows} == {"198.51.100.0/24"}
    # AND the two bad ones wait under the error prefix, in Firehose's format, with their original data
    (errors,) = _keys(stack, "clickstream/errors/processing-failed/")
    lines = [
        json.loads(x)
        for x in stack.client("s3")
        .get_object(Bucket=stack.output("LakeBucketName"), Key=errors)["Body"]
        .read()
        .splitlines()
    ]
    assert {json.loads(base64.b64decode(line["rawData"]))["event_id"] for line in lines} == {"e-90", "e-91"}
    assert {line["errorCode"] for line in lines} == {"Lambda.ProcessingFailedStatus"}


def test_redrive_brings_a_repairable_record_into_the_lake_and_reports_the_rest(stack: LocalStack) -> None:
    # GIVEN an error object as Firehose writes it after an outage: one good record, one bad
    lake, stream = stack.output("LakeBucketName"), stack.output("ClickstreamStreamName")
    good = json.dumps(_event(7, NOW)).encode()
    bad = json.dumps(_event(8, NOW, event_type="teleport")).encode()
    body = "".join(
        json.dumps({"attemptsMade": 4, "arrivalTimestamp": 0, "errorCode": "Lambda.InvokeLimitExceeded",
                    "errorMessage": "rate exceeded", "attemptEndingTimestamp": 0,
                    "rawData": base64.b64encode(raw).decode(), "lambdaArn": "arn"}) + "\n"
        for raw in (good, bad)
    )  # fmt: skip
    key = "clickstream/errors/processing-failed/year=2026/month=11/day=24/hour=05/outage-1"
    stack.client("s3").put_object(Bucket=lake, Key=key, Body=body.encode())
    # WHEN redriven
    report = redrive(stack.client("s3"), stack.client("kinesis"), lake, stream)
    stack.deliver_pending()
    # THEN the good record is in the lake, the bad one reported and kept, and the original moved, not deleted
    assert report.repaired == 1
    assert [u["reason"] for u in report.unrepaired] == ["event_type: 'teleport' is not one of page_view, product_view, "
                                                       "search, add_to_cart, remove_from_cart, checkout, purchase, "
                                                       "sign_up, login"]  # fmt: skip
    assert [r["event_id"] for r in _rows(stack, _keys(stack, "clickstream/events/"))] == ["e-7"]
    assert _keys(stack, "clickstream/errors/") == []
    assert _keys(stack, REDRIVEN_PREFIX) == [REDRIVEN_PREFIX + key.removeprefix("clickstream/errors/")]
    assert len(_keys(stack, UNREPAIRED_PREFIX)) == 1


def test_a_redrive_cut_off_and_run_again_lands_records_twice_and_the_hourly_etl_counts_each_once(
    stack: LocalStack, spark: Any, tmp_path: Path
) -> None:
    # GIVEN an error object with two page views that now pass
    s3, kinesis = stack.client("s3"), stack.client("kinesis")
    lake, stream = stack.output("LakeBucketName"), stack.output("ClickstreamStreamName")
    body = "".join(
        json.dumps({"attemptsMade": 4, "errorCode": "Lambda.InvokeLimitExceeded",
                    "rawData": base64.b64encode(json.dumps(_event(i, NOW)).encode()).decode()}) + "\n"
        for i in (20, 21)
    )  # fmt: skip
    key = "clickstream/errors/processing-failed/year=2026/month=11/day=24/hour=05/outage-2"
    s3.put_object(Bucket=lake, Key=key, Body=body.encode())
    # WHEN a redrive is cut off after putting them on the stream, before moving the object; Firehose
    # delivers them; and the operator runs the redrive again, which Firehose delivers too
    with pytest.raises(ConnectionError):
        redrive(_CopyFailsOnce(s3), kinesis, lake, stream)
    stack.deliver_pending()
    assert redrive(s3, kinesis, lake, stream).repaired == 2
    stack.deliver_pending()
    # THEN the lake holds each event twice: the clickstream is at least once
    rows = _rows(stack, _keys(stack, "clickstream/events/"))
    assert sorted(str(r["event_id"]) for r in rows) == ["e-20", "e-20", "e-21", "e-21"]
    # AND the nightly hourly step, on that lake, counts each page view once
    root = tmp_path / "lake"
    LakeMirror(s3, lake, root).pull()
    run_date = business_date(NOW)
    assert run_clickstream_hourly(spark, root.as_uri() + "/", run_date, run_id="night-1") == 1
    staged = staged_path(root.as_uri() + "/", "night-1", "clickstream_hourly", run_date)
    (hour,) = spark.read.parquet(staged).collect()
    assert (hour["page_views"], hour["sessions"], hour["visitors"]) == (2, 2, 2)


def test_firehose_prefixes_expand_as_documented() -> None:
    arrival = datetime(2026, 11, 24, 5, 7, tzinfo=UTC)
    assert (
        _prefix("a/year=!{partitionKeyFromLambda:year}/h=!{timestamp:HH}/", {"year": "2026"}, arrival)
        == "a/year=2026/h=05/"
    )
    assert _prefix("e/!{firehose:error-output-type}/", {}, arrival, "processing-failed") == "e/processing-failed/"
