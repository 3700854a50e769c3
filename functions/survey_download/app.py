"""Survey download: the link in a survey's Slack message, answered with the marked-up copy it names.

A Lambda function URL (payload 2.0). The token in the link is checked (`shoplake.surveys.links.answer`);
a good one is answered with a redirect to a presigned S3 URL valid for 5 minutes, anything else with a
short text saying what to do. Every request is logged with its outcome, never with the token.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from shoplake.surveys import links

logger = Logger()
# SigV4 in every region: boto3 presigns with SigV2 where a region allows it, and S3 refuses SigV2 for SSE-KMS.
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))

SURVEY_BUCKET = os.environ["SURVEY_BUCKET"]
LINK_SECRET_ARN = os.environ["LINK_SECRET_ARN"]


def exists(key: str) -> bool:
    # A listing, not HeadObject: the role may list marked/ only, and without s3:ListBucket S3 answers a
    # missing key 403, which would hide "gone" among real denials.
    listed = s3.list_objects_v2(Bucket=SURVEY_BUCKET, Prefix=key, MaxKeys=1)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def presign(key: str, disposition: str, content_type: str) -> str:
    params = {
        "Bucket": SURVEY_BUCKET,
        "Key": key,
        "ResponseContentDisposition": disposition,
        "ResponseContentType": content_type,
    }
    return str(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=links.REDIRECT_SECONDS))


@logger.inject_lambda_context
@event_source(data_class=LambdaFunctionUrlEvent)
def lambda_handler(event: LambdaFunctionUrlEvent, context: LambdaContext) -> dict[str, Any]:
    if event.request_context.http.method not in ("GET", "HEAD"):
        answer = links.Answer(405, "Open the link in a browser.", {"Allow": "GET, HEAD"})
    else:
        secret = parameters.get_secret(LINK_SECRET_ARN, max_age=300)
        answer = links.answer(event.query_string_parameters or {}, secret, exists, presign)
    logger.info(
        "Marked-up copy requested", extra={"status": answer.status, "source_ip": event.request_context.http.source_ip}
    )
    return answer.as_function_url_response()
