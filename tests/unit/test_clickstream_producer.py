"""The producer: PutRecords within its limits, only refused records retried, never blocking the shop."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from moto import mock_aws

from shoplake.clickstream.producer import (
    MAX_BYTES_PER_CALL,
    ClickstreamProducer,
    Entry,
    batches,
    put_with_retries,
)


def test_batches_stay_within_500_records_and_5_mb() -> None:
    small = [Entry(b"x" * 100, "k") for _ in range(1_234)]
    assert [len(b) for b in batches(small)] == [500, 500, 234]
    large = [Entry(b"x" * 900_000, "k") for _ in range(12)]
    sized = list(batches(large))
    assert all(sum(e.size for e in b) <= MAX_BYTES_PER_CALL for b in sized)
    assert sum(len(b) for b in sized) == 12


class FlakyKinesis:
    """Refuses the given record numbers on the first call, as Kinesis does when a shard is hot."""

    def __init__(self, refuse_first: set[int]) -> None:
        self.refuse_first = refuse_first
        self.calls: list[list[bytes]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append([r["Data"] for r in Records])
        first = len(self.calls) == 1
        return {
            "FailedRecordCount": 0,
            "Records": [
                {"ErrorCode": "ProvisionedThroughputExceededException"}
                if first and i in self.refuse_first
                else {"SequenceNumber": "1", "ShardId": "shardId-0"}
                for i in range(len(Records))
            ],
        }


def test_only_refused_records_are_sent_again() -> None:
    kinesis = FlakyKinesis(refuse_first={1, 3})
    batch = [Entry(str(i).encode(), "k") for i in range(5)]
    assert put_with_retries(kinesis, "s", batch, sleep=lambda _: None) == []
    assert kinesis.calls == [[b"0", b"1", b"2", b"3", b"4"], [b"1", b"3"]]


def test_records_still_refused_after_every_attempt_are_returned() -> None:
    class Down:
        def put_records(self, **_: Any) -> dict[str, Any]:
            raise ConnectionError("kinesis unreachable")

    batch = [Entry(b"a", "k")]
    assert put_with_retries(Down(), "s", batch, attempts=3, sleep=lambda _: None) == batch


def test_emit_never_blocks_even_when_kinesis_hangs() -> None:
    class Hanging:
        def put_records(self, **_: Any) -> dict[str, Any]:
            time.sleep(5)
            return {"Records": []}

    producer = ClickstreamProducer(Hanging(), "s", max_queue=10, linger_seconds=0)
    started = time.monotonic()
    accepted = [producer.emit({"event_id": str(i), "session_id": "s"}) for i in range(100)]
    assert time.monotonic() - started < 0.5
    assert accepted.count(False) == producer.refused > 0


@mock_aws
def test_events_reach_the_stream() -> None:
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="clicks", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    producer = ClickstreamProducer(kinesis, "clicks", linger_seconds=0.01)
    for i in range(1_200):
        producer.emit({"event_id": f"e{i}", "session_id": f"s{i % 7}", "event_type": "page_view"})
    producer.close()
    assert producer.sent == 1_200
    received = 0
    for shard in kinesis.list_shards(StreamName="clicks")["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName="clicks", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        received += len(records)
        assert all(json.loads(r["Data"])["event_type"] == "page_view" for r in records)
    assert received == 1_200
