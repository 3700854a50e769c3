"""AWS Backup vault notifications: plain-text SNS messages, the state in message attributes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.timestamps import to_utc_iso

_SEVERITY = {
    "FAILED": Severity.CRITICAL,
    "ABORTED": Severity.CRITICAL,
    "EXPIRED": Severity.CRITICAL,
    "PARTIAL": Severity.WARNING,
    "COMPLETED": Severity.SUCCESS,
    "CREATED": Severity.INFO,
    "RUNNING": Severity.INFO,
}
_RESOURCE = re.compile(r"Resource ARN\s*:\s*(\S+?)\.?(?:\s|$)")


def is_backup_notification(subject: str | None, attributes: Mapping[str, str]) -> bool:
    return (subject or "").startswith("Notification from AWS Backup") or attributes.get("EventType", "").endswith(
        "_JOB"
    )


def from_sns(message: str, attributes: Mapping[str, str], topic_arn: str | None, occurred_at: str | None) -> Alert:
    event_type = attributes.get("EventType", "BACKUP_JOB")
    state = attributes.get("State", "UNKNOWN")
    job_id = attributes.get("Id")
    match = _RESOURCE.search(message)
    resource = match.group(1) if match else (job_id or "backup job")
    kind = event_type.replace("_", " ").lower()
    region = console.region_of_arn(topic_arn)
    return Alert(
        title=f"AWS Backup {kind} {state.lower()}",
        summary=message,
        severity=_SEVERITY.get(state, Severity.WARNING),
        category=Category.BACKUP,
        source="AWS Backup",
        resource=resource,
        # Backup sends several notifications under one SNS message id; the job and state identify each.
        dedupe_key=f"backup:{event_type}:{job_id}:{state}",
        detail_type=event_type,
        account=attributes.get("AccountId") or console.account_of_arn(topic_arn),
        region=region,
        occurred_at=occurred_at or to_utc_iso(attributes.get("StartTime")),
        console_url=console.backup_job(region, event_type, job_id),
        fields=(("Job", f"{kind} {job_id}"), ("State", state), ("Started", attributes.get("StartTime", "—"))),
    )
