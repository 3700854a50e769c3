"""Glue launcher: a new survey partition in the lake starts its data-quality job."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake.glue_launch import start_quality_check
from shoplake.s3_notifications import objects_created

logger = Logger()
tracer = Tracer()
metrics = Metrics()
glue = boto3.client("glue")

SURVEY_QUALITY_JOB = os.environ["SURVEY_QUALITY_JOB"]
idempotency_config = IdempotencyConfig(event_key_jmespath="[bucket, key, sequencer]", raise_on_no_idempotency_key=True)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])


@idempotent_function(  # type: ignore[untyped-decorator]  # Powertools' decorator factory is untyped
    data_keyword_argument="written", persistence_store=persistence, config=idempotency_config
)
def launch(*, written: dict[str, Any]) -> dict[str, Any]:
    run = start_quality_check(glue, SURVEY_QUALITY_JOB, written["bucket"], written["key"])
    logger.info("Quality check started", extra=asdict(run))
    metrics.add_metric(name="QualityChecksStarted", unit=MetricUnit.Count, value=1)
    return asdict(run)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    return {"runs": [launch(written=created.as_dict()) for created in objects_created(event)]}
