"""Survey parser: a file dropped in the survey inbox becomes typed Parquet in the lake, or is quarantined."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake.notices import publish
from shoplake.s3_notifications import IDEMPOTENCY_KEY, ObjectCreated, objects_created
from shoplake.surveys import links
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import IngestConfig, Outcome, ingest, memory_budget
from shoplake.surveys.report import notice_for

logger = Logger()
tracer = Tracer()
metrics = Metrics()
s3 = boto3.client("s3")
sns = boto3.client("sns")

ALERT_TOPIC_ARN = os.environ["ALERT_TOPIC_ARN"]
# The download function's URL and the secret its links are signed with (shoplake.surveys.links).
MARKED_COPY_URL = os.environ["MARKED_COPY_URL"]
LINK_SECRET_ARN = os.environ["LINK_SECRET_ARN"]
CONFIG = IngestConfig(
    lake_bucket=os.environ["LAKE_BUCKET"],
    forms=all_forms(),
    max_upload_bytes=int(os.environ["MAX_UPLOAD_MEGABYTES"]) * 2**20,
    memory_budget_bytes=memory_budget(int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])),
)
idempotency_config = IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY, raise_on_no_idempotency_key=True)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])


def announce(outcome: Outcome) -> None:
    link = None
    if outcome.marked_copy:
        key = outcome.marked_copy.split("/", 3)[3]
        secret = parameters.get_secret(LINK_SECRET_ARN, max_age=300)
        link = links.link_for(MARKED_COPY_URL, secret, key, links.download_name(outcome.file_name, key))
    publish(sns, ALERT_TOPIC_ARN, notice_for(outcome, link, links.expires_at()))


@idempotent_function(  # type: ignore[untyped-decorator]  # Powertools' decorator factory is untyped
    data_keyword_argument="upload", persistence_store=persistence, config=idempotency_config
)
def handle_upload(*, upload: dict[str, Any], seconds_left: Callable[[], float]) -> dict[str, Any]:
    outcome = ingest(s3, ObjectCreated.from_dict(upload), CONFIG, announce, seconds_left)
    logger.info("Survey file handled", extra={"outcome": outcome.for_the_log()})
    metrics.add_metric(name="SurveyRowsIngested", unit=MetricUnit.Count, value=outcome.rows_ingested)
    metrics.add_metric(name="SurveyRowsRejected", unit=MetricUnit.Count, value=outcome.rows_rejected)
    if outcome.status not in ("already_handled", "folder"):
        metrics.add_metric(name=f"SurveyFiles{outcome.status.title()}", unit=MetricUnit.Count, value=1)
    return outcome.as_dict()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    uploads = objects_created(event)
    metrics.add_metric(name="SurveyFilesReceived", unit=MetricUnit.Count, value=len(uploads))
    seconds_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    return {"files": [handle_upload(upload=upload.as_dict(), seconds_left=seconds_left) for upload in uploads]}
