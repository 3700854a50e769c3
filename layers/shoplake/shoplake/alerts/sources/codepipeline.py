"""CodePipeline execution state changes: how CI/CD results reach people.

Format: "CodePipeline Pipeline Execution State Change"
(https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html),
sent by EventBridge or as a CodeStar notification, whose `additionalAttributes` name the failed stage
and actions.
"""

from __future__ import annotations

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.sources.eventbridge import EventEnvelope

_SEVERITY = {
    "FAILED": Severity.CRITICAL,
    "STOPPED": Severity.WARNING,
    "STOPPING": Severity.WARNING,
    "SUPERSEDED": Severity.INFO,
    "CANCELED": Severity.WARNING,
    "STARTED": Severity.INFO,
    "RESUMED": Severity.INFO,
    "SUCCEEDED": Severity.SUCCESS,
}
_VERB = {
    "FAILED": "failed",
    "STOPPED": "was stopped",
    "STOPPING": "is stopping",
    "SUPERSEDED": "was superseded by a newer execution",
    "CANCELED": "was cancelled",
    "STARTED": "started",
    "RESUMED": "resumed",
    "SUCCEEDED": "succeeded",
}


def execution_state_change(event: EventEnvelope) -> Alert:
    """A pipeline execution state change as an alert: FAILED critical, STOP*/CANCELED warning, SUCCEEDED success.

    Reads `pipeline` and `state` (KeyError without them), `execution-id`, `execution-trigger` and
    `stop-execution-comments`; AttributeError when `execution-trigger` or `additionalAttributes` is not an object.
    """
    detail = event.detail
    pipeline = detail["pipeline"]
    state = detail["state"]
    execution_id = detail.get("execution-id")
    fields: list[tuple[str, str]] = [("Execution", str(execution_id))]
    trigger = detail.get("execution-trigger") or {}
    if trigger:
        fields.append(("Triggered by", f"{trigger.get('trigger-type')} {trigger.get('trigger-detail', '')}".strip()))
    if detail.get("stop-execution-comments"):
        fields.append(("Stop comment", detail["stop-execution-comments"]))
    failure = event.raw.get("additionalAttributes") or {}
    if failure.get("failedStage"):
        fields.append(("Failed stage", failure["failedStage"]))
    for action in failure.get("failedActions") or []:
        fields.append((f"Action {action.get('action')}", action.get("additionalInformation") or "failed"))
    summary = f"Pipeline *{pipeline}* {_VERB.get(state, f'is {state}')}."
    if state == "FAILED" and failure.get("failedStage"):
        summary += f" The {failure['failedStage']} stage failed; nothing after it was deployed."
    return event.alert(
        title=f"Pipeline {pipeline} {_VERB.get(state, state.lower())}",
        summary=summary,
        severity=_SEVERITY.get(state, Severity.INFO),
        category=Category.DEPLOYMENT,
        source="CodePipeline",
        resource=pipeline,
        dedupe_key=f"pipeline:{pipeline}:{execution_id}:{state}",
        console_url=console.codepipeline_execution(event.region, pipeline, execution_id),
        fields=tuple(fields),
    )
