"""Step Functions execution status changes: the nightly ETL's outcome.

Format: "Step Functions Execution Status Change" (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html,
delivered best effort; samples in tests/events/); `startDate`/`stopDate` are epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shoplake import nightly_etl
from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
from shoplake.alerts.sources.eventbridge import EventEnvelope
from shoplake.alerts.timestamps import to_utc_iso

_SEVERITY = {
    "FAILED": Severity.CRITICAL,
    "TIMED_OUT": Severity.CRITICAL,
    "ABORTED": Severity.WARNING,
    "RUNNING": Severity.INFO,
    "PENDING_REDRIVE": Severity.WARNING,
    "SUCCEEDED": Severity.SUCCESS,
}
# A run opens its thread when it starts (again, when redriven) and closes it when it ends.
# What a message of its own told before threads (the notifier's rule then): the rest is told only in threads.
_TOLD_WITHOUT_THREADS = frozenset({"FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"})
_PHASE = {
    "RUNNING": Phase.OPEN,
    "SUCCEEDED": Phase.CLOSE,
    "FAILED": Phase.CLOSE,
    "TIMED_OUT": Phase.CLOSE,
    "ABORTED": Phase.CLOSE,
}
# Ended from outside: by the state machine's TimeoutSeconds, or by StopExecution.
_STOPPED = ("TIMED_OUT", "ABORTED")
_VERB = {
    "FAILED": "failed",
    "TIMED_OUT": "timed out",
    "ABORTED": "was aborted",
    "RUNNING": "started",
    "PENDING_REDRIVE": "is waiting to be redriven",
    "SUCCEEDED": "succeeded",
}


def _duration(start: object, stop: object) -> str | None:
    if not isinstance(start, int) or not isinstance(stop, int):
        return None
    seconds = max(0, (stop - start) // 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def _started(start: object) -> datetime | None:
    return datetime.fromtimestamp(start / 1000, UTC) if isinstance(start, int) else None


def _what_next(detail: Mapping[str, Any], machine_arn: str) -> str | None:
    """For the nightly ETL stopped from outside (which told nothing itself): its holds, and its re-run or catch-up."""
    if detail.get("status") not in _STOPPED or not nightly_etl.is_nightly_etl(machine_arn):
        return None
    details = detail.get("inputDetails")
    known = not (isinstance(details, Mapping) and details.get("included") is False)
    started = _started(detail.get("startDate"))
    return nightly_etl.stopped_run_next(machine_arn, detail.get("input"), started, input_known=known)


def execution_status_change(event: EventEnvelope) -> Alert:
    """An execution status change as an alert: FAILED and TIMED_OUT critical, ABORTED warning, SUCCEEDED success.

    A TIMED_OUT or ABORTED run of the nightly ETL (`nightly_etl.is_nightly_etl`), which tells nothing
    itself, is told with what happens next: when its holds lapse, the catch-up or the re-run command
    (`nightly_etl.stopped_run_next`, from `input`, `inputDetails.included` and `startDate`).

    Reads `executionArn` and `status` (required: KeyError without them), the machine's name from
    `stateMachineArn` (else the execution ARN), `name`, the duration from `startDate`/`stopDate` (ms),
    `error`, `cause` and `redriveCount`. The alert's time is `stopDate`, else `startDate`, else the event's
    `time`. The console link uses only the event's own `region` (None without it). The thread is
    `sfn:<executionArn>` (a redriven run keeps its ARN, so its thread): RUNNING opens it, SUCCEEDED, FAILED,
    TIMED_OUT and ABORTED close it, PENDING_REDRIVE is a step in it; its state is the status.
    """
    detail = event.detail
    execution_arn = detail["executionArn"]
    status = detail["status"]
    machine = str(detail.get("stateMachineArn", "")).rsplit(":", 1)[-1] or execution_arn.split(":")[-2]
    name = detail.get("name") or execution_arn.rsplit(":", 1)[-1]
    fields: list[tuple[str, str]] = [("Execution", name)]
    took = _duration(detail.get("startDate"), detail.get("stopDate"))
    if took:
        fields.append(("Duration", took))
    if detail.get("error"):
        fields.append(("Error", detail["error"]))
    if detail.get("cause"):
        fields.append(("Cause", detail["cause"]))
    if detail.get("redriveCount"):
        fields.append(("Redrives", str(detail["redriveCount"])))
    summary = f"State machine *{machine}* execution `{name}` {_VERB.get(status, f'is {status}')}"
    summary += f" after {took}." if took and status != "RUNNING" else "."
    if status == "FAILED" and not detail.get("error"):
        summary += " Open the execution to see which step failed."
    what_next = _what_next(detail, str(detail.get("stateMachineArn", "")))
    if what_next:
        summary += f" It told nothing itself; open the execution to see the step it stopped in. {what_next}"
    return event.alert(
        title=f"{machine} {_VERB.get(status, status.lower())}",
        summary=summary,
        severity=_SEVERITY.get(status, Severity.INFO),
        category=Category.ETL,
        source="Step Functions",
        resource=machine,
        dedupe_key=f"sfn:{execution_arn}:{status}",
        region=event.region or console.region_of_arn(execution_arn),
        occurred_at=to_utc_iso(detail.get("stopDate") or detail.get("startDate")) or event.time,
        console_url=console.stepfunctions_execution(event.region, execution_arn),
        fields=tuple(fields),
        thread=ThreadRef(key=f"sfn:{execution_arn}", state=status, phase=_PHASE.get(status, Phase.PROGRESS)),
        thread_only=status not in _TOLD_WITHOUT_THREADS,
    )
