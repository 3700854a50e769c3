"""Glue job state changes and Glue Data Quality evaluation results.

Formats: "Glue Job State Change" (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-glue.html,
delivered best effort) and "Data Quality Evaluation Results Available" from `aws.glue-dataquality`
(https://docs.aws.amazon.com/glue/latest/dg/data-quality-alerts.html); samples in tests/events/.
"""

from __future__ import annotations

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
from shoplake.alerts.sources.eventbridge import EventEnvelope
from shoplake.surveys import upload_thread

_JOB_SEVERITY = {
    "FAILED": Severity.CRITICAL,
    "ERROR": Severity.CRITICAL,
    "TIMEOUT": Severity.CRITICAL,
    "STOPPED": Severity.WARNING,
    "SUCCEEDED": Severity.SUCCESS,
}
_JOB_VERB = {
    "FAILED": "failed",
    "ERROR": "failed with an error",
    "TIMEOUT": "timed out",
    "STOPPED": "was stopped",
    "SUCCEEDED": "succeeded",
}


def job_state_change(event: EventEnvelope) -> Alert:
    """A Glue job state change as an alert: FAILED, ERROR and TIMEOUT critical, STOPPED warning, SUCCEEDED success.

    Reads `jobName` and `state` (KeyError without them), `jobRunId` and `message`.
    """
    detail = event.detail
    job = detail["jobName"]
    state = detail["state"]
    run_id = detail.get("jobRunId")
    message = detail.get("message") or ""
    summary = f"Glue job *{job}* {_JOB_VERB.get(state, f'is {state}')}."
    if message:
        summary += f"\n> {message}"
    return event.alert(
        title=f"Glue job {job} {_JOB_VERB.get(state, state.lower())}",
        summary=summary,
        severity=_JOB_SEVERITY.get(state, Severity.INFO),
        category=Category.ETL,
        source="AWS Glue",
        resource=job,
        dedupe_key=f"glue-job:{job}:{run_id}:{state}",
        console_url=console.glue_job_run(event.region, job, run_id),
        fields=(("State", state), ("Run", str(run_id)), ("Message", message or "—")),
    )


def data_quality_results(event: EventEnvelope) -> Alert:
    """A Glue Data Quality result as an alert: rules failed -> warning, all passed -> success.

    The detail's `state` is the evaluation run's: anything but SUCCEEDED is critical (the rules could not
    be evaluated). The resource is `database.table` for a catalog evaluation, else the job's evaluation
    context (`upload_thread.evaluation_context`); `score` is a 0-1 fraction shown as a percentage. A context
    naming a survey upload makes the result a step (PROGRESS) in that upload's thread (`survey:s3://...`),
    its state `"<table> <partition>: passed"`, `"...: failed 2 of 9 rules"` or `"...: not evaluated"`.
    Raises ValueError/TypeError when `rulesFailed`, `rulesSucceeded`, `rulesSkipped` are not numbers.
    """
    # `state` is the evaluation run's own state: SUCCEEDED even when rules fail.
    detail = event.detail
    context = detail.get("context") or {}
    upload: str | None = None  # the survey upload whose partition this is, named by the job's context
    if context.get("tableName"):
        resource = f"{context.get('databaseName')}.{context['tableName']}"
        link = console.glue_table_quality(event.region, context.get("databaseName", ""), context["tableName"])
    else:
        # In a Glue job, the evaluation context is what the job named: shoplake names table and partition.
        named, upload = upload_thread.read_evaluation_context(str(context.get("evaluationContext") or ""))
        resource = named or context.get("jobName") or "data quality run"
        link = console.glue_job_run(event.region, context.get("jobName") or resource, context.get("jobId"))
    failed = int(detail.get("rulesFailed") or 0)
    passed = int(detail.get("rulesSucceeded") or 0)
    skipped = int(detail.get("rulesSkipped") or 0)
    score = detail.get("score")
    run_state = detail.get("state", "")
    rulesets = ", ".join(detail.get("rulesetNames") or []) or "—"
    if run_state and run_state != "SUCCEEDED":
        severity, verdict, short = Severity.CRITICAL, f"could not be evaluated (run {run_state})", "not evaluated"
    elif failed:
        severity, verdict = Severity.WARNING, f"failed {failed} of {failed + passed} rules"
        short = verdict
    else:
        severity, verdict, short = Severity.SUCCESS, f"passed all {passed} rules", "passed"
    thread = ThreadRef(upload_thread.thread_key(upload), f"{resource}: {short}", Phase.PROGRESS) if upload else None
    score_text = f"{float(score):.0%}" if isinstance(score, int | float) else "—"
    return event.alert(
        title=f"Data quality {resource}: {verdict}",
        summary=f"Data quality on *{resource}* {verdict} (score {score_text}).",
        severity=severity,
        category=Category.DATA_QUALITY,
        source="Glue Data Quality",
        resource=resource,
        dedupe_key=f"glue-dq:{detail.get('resultID') or context.get('runId') or event.event_id}",
        console_url=link,
        fields=(
            ("Rulesets", rulesets),
            ("Rules", f"{passed} passed, {failed} failed, {skipped} skipped"),
            ("Score", score_text),
            ("Result", str(detail.get("resultID"))),
        ),
        thread=thread,
    )
