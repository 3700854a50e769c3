"""CloudWatch alarm state changes: from the SNS alarm action, EventBridge, or a Lambda alarm action.

Formats: EventBridge's "CloudWatch Alarm State Change" (CloudWatch User Guide, "Alarm events and
EventBridge"), the Lambda alarm action payload (CloudWatch User Guide, "Invoke a Lambda function from an
alarm") and the JSON an SNS alarm action publishes, which AWS shows only by example (samples:
tests/events/sns_cloudwatch_alarm_*.json). Severity: ALARM critical, INSUFFICIENT_DATA warning, OK success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
from shoplake.alerts.sources.eventbridge import EventEnvelope
from shoplake.alerts.timestamps import to_utc_iso

_SEVERITY = {"ALARM": Severity.CRITICAL, "INSUFFICIENT_DATA": Severity.WARNING, "OK": Severity.SUCCESS}
_PHASE = {"ALARM": Phase.OPEN, "INSUFFICIENT_DATA": Phase.PROGRESS, "OK": Phase.CLOSE}
_COMPARISON = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band",
    "GreaterThanUpperThreshold": "above the band",
}


def thread_of(name: str, state: str, *, alarm_arn: str | None, account: str | None, region: str | None) -> ThreadRef:
    """The thread of an alarm's life: `alarm:<account>:<region>:<alarm name>`, the same from all three payloads.

    Account and region are the alarm ARN's when it holds them (the alarm's own, whichever payload carried it),
    else `account` and `region` as the payload gives them, else `-`. ALARM opens the thread, INSUFFICIENT_DATA
    (or any other state) is a step in it, OK closes it; `state` is the state value itself.
    """
    where = f"{console.account_of_arn(alarm_arn) or account or '-'}:{console.region_of_arn(alarm_arn) or region or '-'}"
    return ThreadRef(key=f"alarm:{where}:{name}", state=state, phase=_PHASE.get(state, Phase.PROGRESS))


def _alert(
    *,
    name: str,
    alarm_arn: str | None,
    state: str,
    previous: str | None,
    reason: str,
    description: str | None,
    changed_at: str | None,
    account: str | None,
    region: str | None,
    metric: str | None,
    detail_type: str,
    extra: tuple[tuple[str, str], ...] = (),
) -> Alert:
    verb = {"ALARM": "is in ALARM", "OK": "is OK again", "INSUFFICIENT_DATA": "has insufficient data"}
    summary = f"*{name}* {verb.get(state, f'changed to {state}')}"
    summary += f" (was {previous})." if previous else "."
    if description:
        summary += f"\n{description}"
    fields = [("State", f"{previous} → {state}" if previous else state), ("Reason", reason)]
    if metric:
        fields.append(("Metric", metric))
    thread = thread_of(name, state, alarm_arn=alarm_arn, account=account, region=region)
    return Alert(
        title=f"{state}: {name}",
        summary=summary,
        severity=_SEVERITY.get(state, Severity.WARNING),
        category=Category.ALARM,
        source="CloudWatch alarm",
        resource=name,
        # The transition, not the delivery: SNS and EventBridge copies of it share this key.
        # The transition of this alarm (its account and region too: one name may be used in two regions).
        dedupe_key=f"{thread.key}:{state}:{changed_at}",
        detail_type=detail_type,
        account=account,
        region=region,
        occurred_at=changed_at,
        console_url=console.cloudwatch_alarm(region, name),
        fields=(*fields, *extra),
        thread=thread,
    )


def _describe_sns_trigger(trigger: Mapping[str, Any]) -> str | None:
    op = _COMPARISON.get(str(trigger.get("ComparisonOperator")), trigger.get("ComparisonOperator"))
    threshold = trigger.get("Threshold")
    if trigger.get("Metrics"):
        expressions = [m["Expression"] for m in trigger["Metrics"] if m.get("Expression")]
        what = f"metric math {', '.join(expressions)}" if expressions else "metric math"
    elif trigger.get("MetricName"):
        stat = str(trigger.get("Statistic") or trigger.get("ExtendedStatistic") or "").lower()
        dims = ", ".join(f"{d.get('name')}={d.get('value')}" for d in trigger.get("Dimensions") or [])
        what = f"{trigger.get('Namespace')}/{trigger['MetricName']}"
        what += f" ({stat}{', ' + dims if dims else ''})" if stat or dims else ""
    else:
        return None
    if threshold is not None and op:
        what += f" {op} {threshold}"
    period = trigger.get("Period")
    if period:
        what += f" over {trigger.get('EvaluationPeriods', 1)} × {period}s"
    return what


def from_sns(message: Mapping[str, Any], topic_arn: str | None) -> Alert:
    """The JSON message an alarm's SNS action publishes (the parsed `Message`), as an alert.

    Reads `AlarmName`, `NewStateValue`, `OldStateValue`, `NewStateReason`, `AlarmDescription`,
    `StateChangeTime` (`2015-06-03T17:43:27.123+0000`), the account and region from `AlarmArn`, else
    `AWSAccountId` and `Region` (a code or a region name such as "Asia Pacific (Seoul)"), else the topic's
    ARN, and describes `Trigger` (metric or metric math, threshold, period in seconds). Raises KeyError
    without `AlarmName` or `NewStateValue`; TypeError/AttributeError for mistyped `Trigger` parts.
    """
    alarm_arn = message.get("AlarmArn")
    return _alert(
        name=message["AlarmName"],
        alarm_arn=alarm_arn,
        state=message["NewStateValue"],
        previous=message.get("OldStateValue"),
        reason=message.get("NewStateReason") or "",
        description=message.get("AlarmDescription"),
        changed_at=to_utc_iso(message.get("StateChangeTime")),
        account=console.account_of_arn(alarm_arn) or _digits(message.get("AWSAccountId")),
        region=console.region_of_arn(alarm_arn)
        or console.region_code(message.get("Region"))
        or console.region_of_arn(topic_arn),
        metric=_describe_sns_trigger(message.get("Trigger") or {}),
        detail_type="CloudWatch Alarm (SNS)",
    )


def _describe_configuration(configuration: Mapping[str, Any]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    extra: list[tuple[str, str]] = []
    if configuration.get("alarmRule"):
        extra.append(("Composite rule", configuration["alarmRule"]))
        if configuration.get("actionsSuppressor"):
            extra.append(("Actions suppressor", configuration["actionsSuppressor"]))
        return None, tuple(extra)
    metrics = configuration.get("metrics") or []
    returned = [m for m in metrics if m.get("returnData", True)]
    parts = []
    for m in returned:
        if m.get("expression"):
            parts.append(f"{m.get('label') or m['id']} = {m['expression']}")
        elif m.get("metricStat"):
            stat = m["metricStat"]
            metric = stat.get("metric", {})
            dims = ", ".join(f"{k}={v}" for k, v in (metric.get("dimensions") or {}).items())
            parts.append(
                f"{metric.get('namespace')}/{metric.get('name')} ({stat.get('stat')}"
                f"{', ' + dims if dims else ''}, {stat.get('period')}s)"
            )
    if any("ANOMALY_DETECTION_BAND" in (m.get("expression") or "") for m in metrics):
        extra.append(("Detector", "anomaly detection band"))
    return ("; ".join(parts) or None), tuple(extra)


def _from_alarm_data(
    data: Mapping[str, Any], *, alarm_arn: str | None, account: str | None, region: str | None, detail_type: str
) -> Alert:
    state = data["state"]
    previous = data.get("previousState") or {}
    configuration = data.get("configuration") or {}
    metric, extra = _describe_configuration(configuration)
    if state.get("actionsSuppressedBy"):
        extra = (*extra, ("Actions suppressed", state.get("actionsSuppressedReason") or state["actionsSuppressedBy"]))
    return _alert(
        name=data["alarmName"],
        alarm_arn=alarm_arn,
        state=state["value"],
        previous=previous.get("value"),
        reason=state.get("reason") or "",
        description=configuration.get("description"),
        changed_at=to_utc_iso(state.get("timestamp")),
        account=account,
        region=region,
        metric=metric,
        detail_type=detail_type,
        extra=extra,
    )


def from_eventbridge(event: EventEnvelope) -> Alert:
    """A "CloudWatch Alarm State Change" event as an alert; account and region default to the alarm ARN's.

    The detail holds `alarmName`, `state` and `previousState` (`value`, `reason`, `timestamp`) and
    `configuration` (`metrics`, or `alarmRule` for a composite alarm). Raises KeyError without
    `alarmName`, `state` or `state.value`; AttributeError/TypeError for mistyped parts.
    """
    alarm_arn = event.resources[0] if event.resources else None
    return _from_alarm_data(
        event.detail,
        alarm_arn=alarm_arn,
        account=event.account or console.account_of_arn(alarm_arn),
        region=event.region or console.region_of_arn(alarm_arn),
        detail_type=event.detail_type,
    )


def from_lambda_action(payload: Mapping[str, Any]) -> Alert:
    """The payload CloudWatch sends when a Lambda function is itself the alarm action, as an alert.

    `{"source": "aws.cloudwatch", "alarmArn", "accountId", "time", "region", "alarmData": {...}}`, with
    `alarmData` shaped like the EventBridge event's detail. Raises KeyError without `alarmData` or its
    `alarmName`, `state` or `state.value`.
    """
    return _from_alarm_data(
        payload["alarmData"],
        alarm_arn=payload.get("alarmArn"),
        account=payload.get("accountId"),
        region=payload.get("region") or console.region_of_arn(payload.get("alarmArn")),
        detail_type="CloudWatch Alarm (Lambda action)",
    )


def _digits(value: object) -> str | None:
    return value if isinstance(value, str) and value.isdigit() else None
