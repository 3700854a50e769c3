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
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    recognised: bool = True
