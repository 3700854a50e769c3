"""Slack notifier: every alert source (SNS, EventBridge, shoplake notices) to Slack, once."""

from __future__ import annotations

import os
import time
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

from shoplake.alerts.delivery import SlackCredentials, SlackSender
from shoplake.alerts.model import Alert
from shoplake.alerts.notify import notify
from shoplake.alerts.routing import Routing
from shoplake.alerts.sources import read_alerts
from shoplake.alerts.thread_engine import ThreadEngine
from shoplake.alerts.thread_store import ThreadStore
from shoplake.alerts.threads import Policy

logger = Logger()
tracer = Tracer()
metrics = Metrics()

ROUTING = Routing.from_json(os.environ["ALERT_ROUTING"])
SLACK_SECRET_NAME = os.environ["SLACK_SECRET_NAME"]
POLICY = Policy.from_environment(os.environ)
# Without a thread table (a stack from before issue 19) every alert stays a message of its own.
THREAD_TABLE_NAME = os.environ.get("THREAD_TABLE_NAME")
THREADS = (
    ThreadStore(boto3.resource("dynamodb").Table(THREAD_TABLE_NAME), ttl_s=POLICY.ttl_s) if THREAD_TABLE_NAME else None
)
SWEEP_EVENT = {"shoplake": "thread-sweep"}
SECRET_MAX_AGE_SECONDS = 300
# Leave time to record the outcome after the last Slack attempt.
DEADLINE_MARGIN_SECONDS = 2.0

idempotency_config = IdempotencyConfig(
    event_key_jmespath="dedupe_key",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=int(os.environ.get("DEDUPE_WINDOW_SECONDS", "86400")),
)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])


@idempotent_function(  # type: ignore[untyped-decorator]  # Powertools' decorator factory is untyped
    data_keyword_argument="alert", persistence_store=persistence, config=idempotency_config
)
def deliver_once(*, alert: Alert, sender: SlackSender) -> dict[str, Any]:
    if alert.thread is not None and threads(sender):
        return engine(sender).deliver(alert)
    if alert.thread_only:  # a step of a thread, and no threads here (a webhook): not a message of its own
        return {"dedupe_key": alert.dedupe_key, "channel": None, "ts": None, "via": "told only in threads"}
    return notify(alert, routing=ROUTING, sender=sender)


def threads(sender: SlackSender) -> bool:
    """Whether alerts go to threads: a thread table, and a sender that can thread (a bot token)."""
    return THREADS is not None and sender.threads


def engine(sender: SlackSender) -> ThreadEngine:
    assert THREADS is not None
    return ThreadEngine(THREADS, sender, ROUTING, POLICY, time.time)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    secret = parameters.get_secret(SLACK_SECRET_NAME, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    sender = SlackSender(
        SlackCredentials.from_secret(secret),
        remaining=lambda: context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS,
    )
    if event == SWEEP_EVENT:
        swept = engine(sender).sweep(time.time()) if threads(sender) else []
        for result in swept:
            if "error" in result:
                logger.warning("Thread sweep failed for one thread", extra=result)
        return {"swept": swept}
    alerts = read_alerts(event)
    metrics.add_metric(name="AlertsReceived", unit=MetricUnit.Count, value=len(alerts))
    for alert in alerts:
        if not alert.recognised:
            logger.warning("Unrecognised alert source", extra={"alert_title": alert.title, "event": event})
    delivered = [deliver_once(alert=alert, sender=sender) for alert in alerts]
    metrics.add_metric(name="AlertsDelivered", unit=MetricUnit.Count, value=len(delivered))
    return {"delivered": delivered}
