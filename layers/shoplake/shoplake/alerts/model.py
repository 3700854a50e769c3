"""The one shape every alert source is read into before it is rendered for Slack."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How urgently a person must act, in decreasing order."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    SUCCESS = "success"


class Category(StrEnum):
    """What kind of thing happened; channel routing is keyed on it."""

    ALARM = "alarm"
    DEPLOYMENT = "deployment"
    ETL = "etl"
    DATA_QUALITY = "data_quality"
    BACKUP = "backup"
    INGESTION = "ingestion"
    OTHER = "other"


@dataclass(frozen=True)
class Alert:
    """What happened, to which resource, where, when and how severe it is.

    `dedupe_key` identifies the happening itself, not the delivery: the same alarm
    transition arriving through SNS and through EventBridge has one key.

    `title` and `summary` are plain text and Slack mrkdwn (`*bold*`, `` `code` ``) respectively; `source` is
    the emitting service as people name it ("CloudWatch alarm"), `detail_type` the message type (an
    EventBridge `detail-type` or shoplake's own); `account` a 12-digit id and `region` a region code when
    known; `occurred_at` an RFC 3339 UTC time with milliseconds and `Z` (`timestamps.to_utc_iso`);
    `console_url` an https link, shown as "Open in the AWS console" unless `link_label` names it (then as a
    section of its own, for a link the reader is meant to follow); `fields` ordered (label, text) pairs shown
    as Slack fields; `recognised` False when no reader knew the message.
    """

    title: str
    summary: str
    severity: Severity
    category: Category
    source: str
    resource: str
    dedupe_key: str
    detail_type: str
    account: str | None = None
    region: str | None = None
    occurred_at: str | None = None
    console_url: str | None = None
    link_label: str | None = None
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    recognised: bool = True
