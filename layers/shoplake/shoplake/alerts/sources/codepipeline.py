"""CodePipeline execution and stage state changes: how CI/CD results reach people, one thread per execution.

Formats: "CodePipeline Pipeline Execution State Change" and "CodePipeline Stage Execution State Change"
(CodePipeline User Guide, "Monitoring CodePipeline events",
https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html),
sent by EventBridge or as a CodeStar notification, whose `additionalAttributes` name the failed stage
and actions; samples in tests/events/eventbridge_codepipeline_*.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
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
# STARTED and RESUMED (a failed execution retried) open the execution's thread; its end states close it.
# What a message of its own told before threads (the notifier's rule then): the rest is told only in threads.
_TOLD_WITHOUT_THREADS = frozenset({"STARTED", "SUCCEEDED", "FAILED", "STOPPED"})
_EXECUTION_PHASE = {
    "STARTED": Phase.OPEN,
    "RESUMED": Phase.OPEN,
    "STOPPING": Phase.PROGRESS,
    "SUCCEEDED": Phase.CLOSE,
    "FAILED": Phase.CLOSE,
    "STOPPED": Phase.CLOSE,
    "SUPERSEDED": Phase.CLOSE,
    "CANCELED": Phase.CLOSE,
}


def _thread_key(detail: Mapping[str, Any]) -> str | None:
    """`pipeline:<pipeline>:<execution id>`, or None for an event without an execution id (nothing to join)."""
    execution_id = detail.get("execution-id")
    return f"pipeline:{detail['pipeline']}:{execution_id}" if execution_id else None


def execution_state_change(event: EventEnvelope) -> Alert:
    """A pipeline execution state change as an alert: FAILED critical, STOP*/CANCELED warning, SUCCEEDED success.

    Its thread is `pipeline:<pipeline>:<execution-id>` (none without `execution-id`): STARTED and RESUMED
    open it, STOPPING is a step in it, SUCCEEDED, FAILED, STOPPED, SUPERSEDED and CANCELED close it.

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
        thread=_thread(detail, state, _EXECUTION_PHASE.get(state, Phase.PROGRESS)),
        thread_only=state not in _TOLD_WITHOUT_THREADS,
    )


def _thread(detail: Mapping[str, Any], state: str, phase: Phase) -> ThreadRef | None:
    key = _thread_key(detail)
    return ThreadRef(key=key, state=state, phase=phase) if key else None


_STAGE_SEVERITY = {
    "FAILED": Severity.CRITICAL,
    "STOPPED": Severity.WARNING,
    "STOPPING": Severity.WARNING,
    "CANCELED": Severity.WARNING,
    "SUCCEEDED": Severity.SUCCESS,
}


def stage_state_change(event: EventEnvelope) -> Alert:
    """A stage execution state change as a step in its pipeline execution's thread.

    FAILED critical, STOPPING/STOPPED/CANCELED warning, SUCCEEDED success, STARTED and RESUMED info. Reads
    `pipeline`, `stage` and `state` (KeyError without them), `execution-id`, `pipeline-execution-attempt` and
    `stage-last-retry-attempt-time`; the thread state is `"<stage>: <STATE>"`, always a step (PROGRESS):
    the execution's own events open and close the thread. A retried stage's events are told again (the
    attempt is part of the dedupe key).
    """
    detail = event.detail
    pipeline = detail["pipeline"]
    stage = detail["stage"]
    state = detail["state"]
    execution_id = detail.get("execution-id")
    verb = _VERB.get(state, f"is {state}")
    fields: list[tuple[str, str]] = [("Stage", stage), ("State", state), ("Execution", str(execution_id))]
    retried = detail.get("stage-last-retry-attempt-time")
    if retried:
        fields.append(("Last retried", str(retried)))
    attempt = detail.get("pipeline-execution-attempt")  # a JSON number, written 1.0 in AWS's samples
    if isinstance(attempt, int | float) and float(attempt).is_integer():
        attempt_text = str(int(attempt))
    else:
        attempt_text = "" if attempt is None else str(attempt)
    return event.alert(
        title=f"Pipeline {pipeline}: stage {stage} {_VERB.get(state, state.lower())}",
        summary=f"Stage *{stage}* of pipeline *{pipeline}* {verb}.",
        severity=_STAGE_SEVERITY.get(state, Severity.INFO),
        category=Category.DEPLOYMENT,
        source="CodePipeline",
        resource=pipeline,
        dedupe_key=f"pipeline-stage:{pipeline}:{execution_id}:{stage}:{state}:{attempt_text}:{retried or ''}",
        console_url=console.codepipeline_execution(event.region, pipeline, execution_id),
        fields=tuple(fields),
        thread=_thread(detail, f"{stage}: {state}", Phase.PROGRESS),
        thread_only=True,  # a stage's result is a step of its execution: without threads, the execution tells it
    )
