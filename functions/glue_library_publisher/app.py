"""Custom resource: publish the Glue jobs' scripts and library (`shoplake_etl`, `shoplake`, `tzdata`).

Its package holds this handler, `shoplake_etl` and the jobs' scripts beside it (copied in by this
folder's Makefile at `sam build`); the shared layer brings `shoplake` and `tzdata` (in /opt/python).
It puts them in the Glue scripts bucket: a zip of the very code deployed with it, whose s3:// URI
(`Uri`) the jobs pass as `--extra-py-files`, and each script, whose key (`NightlyEtlJobKey`,
`SurveyQualityCheckKey`: glue_library.script_attribute) their ScriptLocation names. Deleting the
resource keeps the objects: a job still running from the previous deployment needs them. Old ones
stay (each key names its content, a few hundred KB a deploy): no lifecycle rule removes them, as
any rule by age would also remove the scripts of a stack left undeployed for that long.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake import cfn_response, glue_library

logger = Logger()
s3 = boto3.client("s3")


@logger.inject_lambda_context
@event_source(data_class=CloudFormationCustomResourceEvent)
def lambda_handler(event: CloudFormationCustomResourceEvent, context: LambdaContext) -> None:
    physical_id = event.physical_resource_id or f"{event.logical_resource_id}-library"
    try:
        data: dict[str, Any] = {}
        if event.request_type != "Delete":
            bucket = event.resource_properties["Bucket"]
            content = glue_library.library_zip(glue_library.library_packages())
            data["Uri"] = glue_library.publish(s3, bucket, content)
            data |= glue_library.publish_scripts(s3, bucket, glue_library.scripts_folder())
            logger.info("library published", extra={"uri": data["Uri"], "bytes": len(content), "scripts": data})
        cfn_response.send(event.raw_event, cfn_response.SUCCESS, physical_id=physical_id, data=data)
    except Exception as error:
        logger.exception("library not published")
        reason = f"{type(error).__name__}: {error} (log stream {os.environ.get('AWS_LAMBDA_LOG_STREAM_NAME', '?')})"
        cfn_response.send(event.raw_event, cfn_response.FAILED, physical_id=physical_id, reason=reason)
