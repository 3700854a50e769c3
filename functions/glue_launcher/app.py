"""Glue launcher: a new survey partition starts its quality job; `{"job": "survey-quality", ...}` re-runs it.

The nightly ETL's jobs are not startable here: they run only inside the state machine, under its per-day lock.
"""

from __future__ import annotations

import json
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

from shoplake.glue_launch import start_named_job, start_quality_check
from shoplake.s3_notifications import IDEMPOTENCY_KEY, objects_created

logger = Logger()
tracer = Tracer()
metrics = Metrics()
glue = boto3.client("glue")

SURVEY_QUALITY_JOB = os.environ["SURVEY_QUALITY_JOB"]
# The jobs this launcher exists for, short name -> job name (the survey check): no other job can be started here.
GLUE_JOBS: dict[str, str] = json.loads(os.environ["GLUE_JOBS"])
idempotency_config = IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY, raise_on_no_idempotency_key=True)
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
    if "job" in event:
        run = start_named_job(glue, GLUE_JOBS, str(event["job"]), event.get("arguments") or {})
        logger.info("Glue job started by name", extra=run)
        return run
    return {"runs": [launch(written=created.as_dict()) for created in objects_created(event)]}
