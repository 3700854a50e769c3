"""Read any invocation payload the notifier receives into `Alert`s.

SNS deliveries may carry CloudWatch alarm messages, EventBridge events forwarded to SNS,
AWS Backup notifications or shoplake notices; EventBridge events arrive directly. A
message that no reader knows, or that a reader cannot read, becomes an unrecognised
alert rather than being lost.

Formats: the SNS event Lambda receives (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html),
the EventBridge event envelope (EventBridge User Guide, "Event structure reference"), Lambda's
invocation record (Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations") and the CloudWatch
Lambda alarm action payload (CloudWatch User Guide, "Invoke a Lambda function from an alarm");
samples of each in tests/events/ (sources in tests/events/SOURCES.md).
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
    lambda_destination,
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
    ("aws.codepipeline", "CodePipeline Stage Execution State Change"): codepipeline.stage_state_change,
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
    """One EventBridge event (direct, from SNS, or a CodeStar notification) as an alert.

    The reader is chosen by (`source`, `detail-type`) in `EVENT_READERS`; an unknown pair, or a known one
    whose detail is missing a field or has one of the wrong type, gives an unrecognised alert saying why.
    The envelope itself is read outside that net: a `resources` that is not iterable raises TypeError, a
    numeric `time` beyond the platform's range raises OSError/OverflowError (see `to_utc_iso`).
    """
    env = envelope(event)
    reader = EVENT_READERS.get((env.source, env.detail_type))
    if reader is None:
        return unrecognised.from_event(env)
    try:
        return reader(env)
    except _READ_ERRORS as error:
        return unrecognised.from_event(env, why=f"it could not be read as {env.detail_type}: {_why(error)}")


def _json_reader(message: Mapping[str, Any]) -> Callable[[Mapping[str, Any], str | None], Alert] | None:
    if is_notice(message):
        return notice.from_sns
    if "AlarmName" in message:
        return cloudwatch_alarm.from_sns
    if lambda_destination.is_invocation_record(message):
        return lambda_destination.from_record
    if is_event(message):
        return lambda event, _topic_arn: read_event(event)
    return None


def read_sns(sns: Mapping[str, Any]) -> Alert:
    """One SNS message (a record's `Sns` object: `Message`, `Subject`, `TopicArn`, `MessageAttributes`...).

    `Message` is tried, in order, as a shoplake notice, a CloudWatch alarm's JSON (it has `AlarmName`), a
    Lambda on-failure destination record, an EventBridge event forwarded to SNS, and AWS Backup's plain text
    (subject or `EventType` attribute). Anything else, or a message one of those readers cannot read, gives
    an unrecognised alert. A `MessageAttributes` entry that is not an object raises AttributeError.
    """
    text = sns.get("Message") or ""
    try:
        parsed: object = json.loads(text)
    except ValueError:
        parsed = None
    topic_arn = sns.get("TopicArn")
    attributes = {k: str(v.get("Value")) for k, v in (sns.get("MessageAttributes") or {}).items()}
    try:
        reader = _json_reader(parsed) if isinstance(parsed, Mapping) else None
        if reader is not None:
            assert isinstance(parsed, Mapping)
            return reader(parsed, topic_arn)
        if parsed is None and backup.is_backup_notification(sns.get("Subject"), attributes):
            return backup.from_sns(text, attributes, topic_arn, to_utc_iso(sns.get("Timestamp")))
    except _READ_ERRORS as error:
        return unrecognised.from_sns(sns, parsed, why=f"it could not be read: {_why(error)}")
    return unrecognised.from_sns(sns, parsed)


def read_alerts(payload: Mapping[str, Any]) -> list[Alert]:
    """Every alert in one invocation payload, in delivery order; never fewer alerts than SNS records.

    `payload` is an SNS event (`{"Records": [{"Sns": {...}}, ...]}`), a CloudWatch Lambda alarm action
    payload (`source: aws.cloudwatch` with `alarmData`), or an EventBridge event. A record without `Sns`,
    and any payload of none of these shapes, gives an unrecognised alert naming its key fields.
    """
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
