"""The one shape every alert source is read into before it is rendered for Slack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How urgently a person must act, in decreasing order."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    SUCCESS = "success"


class Phase(StrEnum):
    """What an alert does to the thread of its happening (`ThreadRef.phase`)."""

    # the happening starts or is (again) in trouble: ALARM, a pipeline or ETL run started, a file ingested
    OPEN = "open"
    PROGRESS = "progress"  # a step within it: INSUFFICIENT_DATA, a stage's result, a partition's data quality
    CLOSE = "close"  # it ended: OK, a run's SUCCEEDED/FAILED/STOPPED, a file's last check


@dataclass(frozen=True)
class ThreadRef:
    """Which happening an alert belongs to, so that its whole life is one Slack thread.

    `key` names the happening and is stable across its events: `alarm:<account>:<region>:<alarm name>`,
    `pipeline:<pipeline>:<execution id>`, `sfn:<execution ARN>` (a nightly ETL run), `survey:s3://<bucket>/<key>`
    (an uploaded survey file). `state` is the short state the thread's parent shows ("ALARM", "OK",
    "INSUFFICIENT_DATA", "STARTED", "Build: FAILED", "ingested"); `phase` what the alert does to the thread.
    """

    key: str
    state: str
    phase: Phase


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
    `thread` the happening this alert belongs to (None: a message of its own); `console_url` an https link,
    shown as "Open in the AWS console" unless `link_label` names it (then as a section of its own, for a link
    the reader is meant to follow); `fields` ordered (label, text) pairs shown as Slack fields; `recognised`
    False when no reader knew the message; `thread_only` True for a step told only inside its thread (a run
    started, a pipeline stage's result): an installation without threads (a webhook) leaves it out, as before.
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
    thread: ThreadRef | None = None
    thread_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The alert as JSON-ready values (enums as their values, pairs as lists); `from_dict` reads it back."""
        values = asdict(self)
        values["fields"] = [list(pair) for pair in self.fields]
        return values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Read `to_dict`'s output, after a JSON round trip too. Raises KeyError/TypeError/ValueError on another
        shape (a missing field, an unknown severity, category or phase)."""
        values = dict(data)
        values["severity"] = Severity(values["severity"])
        values["category"] = Category(values["category"])
        values["fields"] = tuple((str(name), str(text)) for name, text in values.get("fields") or ())
        thread = values.get("thread")
        values["thread"] = (
            ThreadRef(key=thread["key"], state=thread["state"], phase=Phase(thread["phase"])) if thread else None
        )
        return cls(**values)
