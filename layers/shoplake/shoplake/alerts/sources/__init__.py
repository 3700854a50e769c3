"""Read any invocation payload the notifier receives into `Alert`s.

SNS deliveries may carry CloudWatch alarm messages, EventBridge events forwarded to SNS,
AWS Backup notifications or shoplake notices; EventBridge events arrive directly. A
message that no reader knows, or that a reader cannot read, becomes an unrecognised
alert rather than being lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from shoplake.alerts.model import Alert
from shoplake.alerts.sources import (
    backup,
    cloudwatch_alarm,
    codepipeline,
    glue,
    notice,
    stepfunctions,
    unrecognised,
)
from shoplake.alerts.sources.eventbridge import EventEnvelope, envelope, is_event
from shoplake.alerts.timestamps import to_utc_iso
from shoplake.notices import NoticeError, is_notice

EVENT_READERS: dict[tuple[str, str], Callable[[EventEnvelope], Alert]] = {
    ("aws.cloudwatch", "CloudWatch Alarm State Change"): cloudwatch_alarm.from_eventbridge,
    ("aws.codepipeline", "CodePipeline Pipeline Execution State Change"): codepipeline.execution_state_change,
    ("aws.glue", "Glue Job State Change"): glue.job_state_change,
    ("aws.glue-dataquality", "Data Quality Evaluation Results Available"): glue.data_quality_results,
    ("aws.states", "Step Functions Execution Status Change"): stepfunctions.execution_status_change,
}

# A known source with a missing or mistyped field is read as unrecognised, naming the problem.
_READ_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, NoticeError)


def _why(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"field {error.args[0]!r} is missing"
    return str(error)


def read_event(event: Mapping[str, Any]) -> Alert:
    env = envelope(event)
    reader = EVENT_READERS.get((env.source, env.detail_type))
    if reader is None:
        return unrecognised.from_event(env)
    try:
        return reader(env)
    except _READ_ERRORS as error:
        return unrecognised.from_event(env, why=f"it could not be read as {env.detail_type}: {_why(error)}")


def read_sns(sns: Mapping[str, Any]) -> Alert:
    text = sns.get("Message") or ""
    try:
        parsed: object = json.loads(text)
    except ValueError:
        parsed = None
    topic_arn = sns.get("TopicArn")
    attributes = {k: str(v.get("Value")) for k, v in (sns.get("MessageAttributes") or {}).items()}
    try:
        if is_notice(parsed):
            assert isinstance(parsed, Mapping)
            return notice.from_sns(parsed, topic_arn)
        if isinstance(parsed, Mapping) and "AlarmName" in parsed:
            return cloudwatch_alarm.from_sns(parsed, topic_arn)
        if isinstance(parsed, Mapping) and is_event(parsed):
            return read_event(parsed)
        if parsed is None and backup.is_backup_notification(sns.get("Subject"), attributes):
            return backup.from_sns(text, attributes, topic_arn, to_utc_iso(sns.get("Timestamp")))
    except _READ_ERRORS as error:
        return unrecognised.from_sns(sns, parsed, why=f"it could not be read: {_why(error)}")
    return unrecognised.from_sns(sns, parsed)


def read_alerts(payload: Mapping[str, Any]) -> list[Alert]:
    """Every alert in one invocation payload, in delivery order."""
    records = payload.get("Records")
    if isinstance(records, list):
        return [
            read_sns(r["Sns"])
            if isinstance(r, Mapping) and isinstance(r.get("Sns"), Mapping)
            else unrecognised.from_payload(r if isinstance(r, Mapping) else {"record": r})
            for r in records
        ]
    if payload.get("source") == "aws.cloudwatch" and "alarmData" in payload:
        try:
            return [cloudwatch_alarm.from_lambda_action(payload)]
        except _READ_ERRORS:
            return [unrecognised.from_payload(payload)]
    if is_event(payload):
        return [read_event(payload)]
    return [unrecognised.from_payload(payload)]
