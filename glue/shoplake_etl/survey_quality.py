"""Naming of a survey partition's data-quality evaluation, shared by the Glue job and the local stack.

The evaluation context names the table, the partition and the upload whose partition object started the run
(`shoplake.surveys.upload_thread`), so that the Slack notifier answers in that upload's thread.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shoplake.surveys import upload_thread


def upload_of_object(s3: Any, object_uri: str | None) -> str | None:
    """The s3:// URI of the upload that wrote the partition object at `object_uri` (its S3 metadata), or None.

    `s3` is a boto3 S3 client allowed `s3:GetObject` on the object (HeadObject). None when `object_uri` is None
    or empty (a run started by name), the object names no upload, or it is gone (404: the partition is still
    checked, its result just has no thread); the client's other errors are raised as they come.
    """
    if not object_uri:
        return None
    bucket, _, key = object_uri.removeprefix("s3://").partition("/")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return upload_thread.upload_of_metadata(head.get("Metadata") or {})


def evaluation_context(table: str, input_path: str, upload_uri: str | None = None) -> str:
    """The evaluation context Glue Data Quality publishes, which the Slack message names.

    `input_path` is the partition's s3:// (or local) folder; its `key=value` parts are kept:
    `evaluation_context("survey_offline_ads", "s3://lake/surveys/offline_ads/year=2026/month=11/day=23/")`
    is `"survey_offline_ads year=2026/month=11/day=23"`; `upload_uri`, when given, is added as
    `upload_thread.evaluation_context` says.
    """
    return upload_thread.evaluation_context(table, input_path, upload_uri)
