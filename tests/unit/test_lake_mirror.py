"""The local Glue's lake: a directory kept equal to the lake bucket around each job run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import boto3
from moto import mock_aws

from local_stack.glue_jobs import LakeMirror


@mock_aws
def test_a_step_sees_the_bucket_and_the_bucket_gets_what_the_step_did(tmp_path: Path) -> None:
    # GIVEN a lake bucket with a clickstream hour and yesterday's raw table
    s3 = boto3.client("s3", region_name="ap-northeast-2")
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    s3.put_object(Bucket="lake", Key="clickstream/events/year=2026/month=11/day=24/hour=01/a.parquet", Body=b"a")
    s3.put_object(Bucket="lake", Key="raw/purchase/year=2026/month=11/day=24/old.parquet", Body=b"old")
    mirror = LakeMirror(s3, "lake", tmp_path / "lake")
    # WHEN the step starts, the directory holds the bucket
    mirror.pull()
    raw = tmp_path / "lake/raw/purchase/year=2026/month=11/day=24"
    assert (raw / "old.parquet").read_bytes() == b"old"
    # AND the step replaces the raw day (Spark deletes the old files, writes new ones and its checksums)
    time.sleep(0.01)
    (raw / "old.parquet").unlink()
    (raw / "part-0.parquet").write_bytes(b"new")
    (raw / ".part-0.parquet.crc").write_bytes(b"crc")
    assert mirror.push() == 1
    # THEN the bucket holds the new day, not the old one nor Spark's checksums, and the rest as it was
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lake")["Contents"]}
    assert keys == {
        "clickstream/events/year=2026/month=11/day=24/hour=01/a.parquet",
        "raw/purchase/year=2026/month=11/day=24/part-0.parquet",
    }


@mock_aws
def test_what_left_the_bucket_leaves_the_directory(tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="ap-northeast-2")
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    stale = tmp_path / "lake/staging/sales_fact/x.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier run")
    os.utime(stale, (0, 0))
    LakeMirror(s3, "lake", tmp_path / "lake").pull()
    assert not stale.exists()
