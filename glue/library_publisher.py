"""Custom resource: publish the Glue jobs' library (`shoplake_etl` and `shoplake`) to the Glue scripts bucket.

A Lambda handler that lives beside the Glue code because it ships that code: its package
is this folder (so `shoplake_etl` is in /var/task) and the shared layer (`shoplake` in
/opt/python). It answers CloudFormation with the zip's s3:// URI (`Uri`), which the jobs
pass as `--extra-py-files`. Deleting the resource keeps the object: a job still running
from the previous deployment needs it, and the bucket's lifecycle rule expires old ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake import cfn_response, glue_library

logger = Logger()
s3 = boto3.client("s3")
HERE = Path(__file__).resolve().parent


def _shoplake_folder() -> Path:
    import shoplake  # noqa: PLC0415 - wherever the layer put it

    return Path(shoplake.__file__).resolve().parent


@logger.inject_lambda_context
@event_source(data_class=CloudFormationCustomResourceEvent)
def handler(event: CloudFormationCustomResourceEvent, context: LambdaContext) -> None:
    physical_id = event.physical_resource_id or f"{event.logical_resource_id}-library"
    try:
        data: dict[str, Any] = {}
        if event.request_type != "Delete":
            bucket = event.resource_properties["Bucket"]
            content = glue_library.library_zip({"shoplake_etl": HERE / "shoplake_etl", "shoplake": _shoplake_folder()})
            data["Uri"] = glue_library.publish(s3, bucket, content)
            logger.info("library published", extra={"uri": data["Uri"], "bytes": len(content)})
        cfn_response.send(event.raw_event, cfn_response.SUCCESS, physical_id=physical_id, data=data)
    except Exception as error:
        logger.exception("library not published")
        reason = f"{type(error).__name__}: {error} (log stream {os.environ.get('AWS_LAMBDA_LOG_STREAM_NAME', '?')})"
        cfn_response.send(event.raw_event, cfn_response.FAILED, physical_id=physical_id, reason=reason)
