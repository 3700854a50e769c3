"""AWS Backup vault notifications: plain-text SNS messages, the state in message attributes.

AWS Backup Developer Guide, "Notification options with AWS Backup" describes the events; the message
and attribute layout is known from samples (tests/events/sns_aws_backup_job_notifications__*.json):
attributes `EventType` (`BACKUP_JOB`, `COPY_JOB`, `RESTORE_JOB`), `State`, `Id`, `AccountId`, `StartTime`.
"""

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
    """True if the SNS subject starts "Notification from AWS Backup" or the `EventType` attribute ends `_JOB`."""
    return (subject or "").startswith("Notification from AWS Backup") or attributes.get("EventType", "").endswith(
        "_JOB"
    )


def from_sns(message: str, attributes: Mapping[str, str], topic_arn: str | None, occurred_at: str | None) -> Alert:
    """A Backup notification as an alert: FAILED, ABORTED and EXPIRED critical, COMPLETED success.

    `message` is the plain text (its "Resource ARN : ..." names the resource), `attributes` the message
    attributes' string values, `occurred_at` the SNS `Timestamp` already normalised (else `StartTime`).
    Never raises; missing attributes give "UNKNOWN" or None.
    """
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
