"""The AWS side of a clickstream redrive, in moto: the lake bucket and the stream, for the redrive tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

BUCKET, STREAM = "shoplake-dev-lake-123456789012", "shoplake-dev-clickstream"


@contextmanager
def redrive_stack() -> Iterator[tuple[Any, Any]]:
    """`(s3, kinesis)` boto3 clients on moto, with the lake bucket `BUCKET` and a one-shard stream `STREAM`."""
    with mock_aws():
        s3, kinesis = boto3.client("s3"), boto3.client("kinesis")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        yield s3, kinesis
