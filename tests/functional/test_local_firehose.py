"""The local Firehose holds the transform to Firehose's documented contract, as Firehose would."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from local_stack.stack import LocalStack

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server


class Misbehaving:
    """Stands in for the transform function: answers as told, whatever Firehose asked."""

    arn = "arn:aws:lambda:ap-northeast-2:123456789012:function:misbehaving"

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return dict(self.answer(event["records"]))


def _put(stack: LocalStack, *payloads: bytes) -> None:
    stack.client("kinesis").put_records(
        StreamName=stack.output("ClickstreamStreamName"),
        Records=[{"Data": p, "PartitionKey": "k"} for p in payloads],
    )


def _errors(stack: LocalStack) -> list[dict[str, Any]]:
    s3, lake = stack.client("s3"), stack.output("LakeBucketName")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=lake, Prefix="clickstream/errors/").get("Contents", [])]
    return [
        json.loads(line) for key in keys for line in s3.get_object(Bucket=lake, Key=key)["Body"].read().splitlines()
    ]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (lambda records: {"records": records[1:] and []}, "Lambda.MissingRecordId"),
        (lambda records: {"records": [{**r, "result": "Fine"} for r in records]}, "Lambda.InvalidOutput"),
        (lambda records: {"records": [{**r, "result": "Ok", "data": "%%%"} for r in records]}, "Lambda.InvalidOutput"),
        (lambda records: {"records": [{**r, "result": "ProcessingFailed"} for r in records]},
         "Lambda.ProcessingFailedStatus"),
    ],
)  # fmt: skip
def test_a_transform_answer_that_breaks_the_contract_sends_the_records_to_the_error_prefix(
    stack: LocalStack, answer: Any, code: str
) -> None:
    # GIVEN a transform that answers wrongly
    stack.firehose.streams[0].transform = Misbehaving(answer)  # type: ignore[assignment]
    # WHEN two records are delivered
    _put(stack, b'{"a": 1}', b'{"b": 2}')
    stack.firehose.flush()
    # THEN both wait under the error prefix, with their original data and Firehose's error code
    errors = _errors(stack)
    assert sorted(base64.b64decode(e["rawData"]) for e in errors) == [b'{"a": 1}', b'{"b": 2}']
    assert {e["errorCode"] for e in errors} == {code}
    assert set(errors[0]) == {
        "attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp", "rawData",
        "lambdaArn",
    }  # fmt: skip


def test_an_ok_record_without_its_partition_keys_goes_to_the_error_prefix(stack: LocalStack) -> None:
    stack.firehose.streams[0].transform = Misbehaving(  # type: ignore[assignment]
        lambda records: {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in records]}
    )
    _put(stack, b'{"a": 1}')
    stack.firehose.flush()
    assert [e["errorCode"] for e in _errors(stack)] == ["DynamicPartitioning.MetadataExtractionFailed"]
