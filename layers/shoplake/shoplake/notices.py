"""The one message format shoplake's own functions use to tell people something.

A function builds a `Notice` and `publish`es it to the notification topic; the Slack
notifier reads it back with `Notice.from_message`. The JSON is versioned by `SCHEMA`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from shoplake.alerts.model import Category, Phase, Severity, ThreadRef
from shoplake.business import stored_time

SCHEMA = "shoplake.notice/v1"


class NoticeKind(StrEnum):
    """What a notice is about; the notice's `kind` field, and its alert category through `CATEGORY_OF_KIND`."""

    SURVEY_REJECTED = "survey_rejected"
    INGESTION_SUMMARY = "ingestion_summary"
    NIGHTLY_RUN = "nightly_run"
    DATA_QUALITY = "data_quality"
    CLICKSTREAM_REDRIVE = "clickstream_redrive"


CATEGORY_OF_KIND = {
    NoticeKind.SURVEY_REJECTED: Category.INGESTION,
    NoticeKind.INGESTION_SUMMARY: Category.INGESTION,
    NoticeKind.CLICKSTREAM_REDRIVE: Category.INGESTION,
    NoticeKind.NIGHTLY_RUN: Category.ETL,
    NoticeKind.DATA_QUALITY: Category.DATA_QUALITY,
}


class NoticeError(ValueError):
    """A notice message that breaks the format; the message names the field."""


def _now() -> str:
    return stored_time(datetime.now(UTC))


@dataclass(frozen=True)
class Notice:
    """One message from a shoplake function to people, in the `shoplake.notice/v1` format.

    `title` and `summary` are Slack mrkdwn-ready text (`*bold*` and `` `code` `` kept, `&<>` escaped when
    rendered); `resource` names what it is about (an s3:// URI, a job name); `fields` are label -> text pairs
    shown as Slack section fields, in order; `link` an optional https URL, with `link_label` its text when it is
    for the reader to follow (else it is shown as a console link). `notice_id` defaults to a random
    UUID4 and identifies the notice for deduplication; `occurred_at` defaults to now, RFC 3339 UTC with
    milliseconds (`2026-11-24T09:05:41.123Z`). `thread` names the happening the notice belongs to (its Slack
    thread; `ThreadRef`: key, state, phase), None for a message of its own.
    """

    kind: NoticeKind
    severity: Severity
    title: str
    summary: str
    resource: str
    fields: Mapping[str, str] = field(default_factory=dict)
    link: str | None = None
    link_label: str | None = None
    notice_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=_now)
    thread: ThreadRef | None = None

    def to_message(self) -> str:
        """The notice as the JSON text of an SNS message, non-ASCII kept as is.

        One JSON object (RFC 8259) with `schema`, `kind`, `severity`, `title`, `summary`, `resource`, `fields`
        (an object of text), `link` and `link_label` (text or null), `notice_id` and `occurred_at`, and, only
        when the notice has one, `thread`: `{"key", "state", "phase"}` (phase `open`, `progress` or `close`).
        """
        thread = {"thread": _thread_json(self.thread)} if self.thread else {}
        return json.dumps(
            {
                "schema": SCHEMA,
                "kind": self.kind.value,
                "severity": self.severity.value,
                "title": self.title,
                "summary": self.summary,
                "resource": self.resource,
                "fields": dict(self.fields),
                "link": self.link,
                "link_label": self.link_label,
                "notice_id": self.notice_id,
                "occurred_at": self.occurred_at,
                **thread,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Notice:
        """Read a parsed notice message (the JSON object `to_message` writes).

        Raises NoticeError naming the field when `schema` is not `SCHEMA`, a required text field is missing
        or empty, `kind` or `severity` is not a known value, `fields` is not an object, or `thread` (optional;
        absent or null: no thread) is not an object of non-empty text `key` and `state` and a `phase` of
        `open`, `progress` or `close`. Field values are turned into text; `link` is taken as given, unchecked.
        """
        if message.get("schema") != SCHEMA:
            raise NoticeError(f"field 'schema': expected {SCHEMA!r}, got {message.get('schema')!r}")
        for name in ("kind", "severity", "title", "summary", "resource", "notice_id", "occurred_at"):
            if not isinstance(message.get(name), str) or not message[name]:
                raise NoticeError(f"field {name!r}: required text is missing")
        try:
            kind = NoticeKind(message["kind"])
        except ValueError:
            raise NoticeError(f"field 'kind': unknown kind {message['kind']!r}") from None
        try:
            severity = Severity(message["severity"])
        except ValueError:
            raise NoticeError(f"field 'severity': unknown severity {message['severity']!r}") from None
        fields = message.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise NoticeError("field 'fields': expected an object of label → text")
        return cls(
            kind=kind,
            severity=severity,
            title=message["title"],
            summary=message["summary"],
            resource=message["resource"],
            fields={str(k): str(v) for k, v in fields.items()},
            link=message.get("link"),
            link_label=message["link_label"] if isinstance(message.get("link_label"), str) else None,
            notice_id=message["notice_id"],
            occurred_at=message["occurred_at"],
            thread=_read_thread(message.get("thread")),
        )


def _thread_json(thread: ThreadRef) -> dict[str, str]:
    return {"key": thread.key, "state": thread.state, "phase": thread.phase.value}


def _read_thread(value: object) -> ThreadRef | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise NoticeError("field 'thread': expected an object with key, state and phase")
    for name in ("key", "state"):
        if not isinstance(value.get(name), str) or not value[name]:
            raise NoticeError(f"field 'thread.{name}': required text is missing")
    try:
        phase = Phase(str(value.get("phase")))
    except ValueError:
        known = ", ".join(p.value for p in Phase)
        raise NoticeError(f"field 'thread.phase': expected one of {known}, got {value.get('phase')!r}") from None
    return ThreadRef(key=value["key"], state=value["state"], phase=phase)


def is_notice(message: object) -> bool:
    """True if `message` is a mapping whose `schema` is `SCHEMA`; the rest is checked by `Notice.from_message`."""
    return isinstance(message, Mapping) and message.get("schema") == SCHEMA


# SNS Publish API reference, `Subject`: "UTF-8 text with no line breaks or control characters, and less than
# 100 characters long"; email subscribers see it as the mail's subject, where only ASCII is safe.
SUBJECT_MAX = 99
_FALLBACK_SUBJECT = "shoplake notice"


def subject_text(title: str) -> str:
    """`title` made a valid SNS subject: printable ASCII on one line, at most 99 characters, never empty.

    Control characters (line breaks, tabs) become spaces and runs of spaces one; anything beyond ASCII
    becomes `?`; the text is cut to 99 characters (ending `...` when cut) and trimmed. A title with nothing
    left gives `"shoplake notice"`. Never raises.
    """
    ascii_text = "".join(ch if " " <= ch <= "~" else ("?" if ch.isprintable() else " ") for ch in title)
    text = " ".join(ascii_text.split())
    if len(text) > SUBJECT_MAX:
        text = text[: SUBJECT_MAX - 3].rstrip() + "..."
    return text or _FALLBACK_SUBJECT


class _Publisher(Protocol):
    def publish(self, **kwargs: Any) -> Mapping[str, Any]: ...


def publish(sns_client: _Publisher, topic_arn: str, notice: Notice) -> str:
    """Publish `notice` to the notification topic; returns the SNS message id.

    `sns_client` is a boto3 SNS client (or anything with its `publish`). The Subject is `subject_text(title)`
    (one line of ASCII, under 100 characters); the message attribute `shoplake_notice_kind` (String)
    carries the kind for subscription filter policies (SNS `Publish` API reference). Errors from the client
    (botocore `ClientError`, e.g. `NotFound` for a wrong topic) are raised as they come.
    """
    response = sns_client.publish(
        TopicArn=topic_arn,
        # The title travels in full inside the message; the subject is only its safe shadow.
        Subject=subject_text(notice.title),
        Message=notice.to_message(),
        MessageAttributes={"shoplake_notice_kind": {"DataType": "String", "StringValue": notice.kind.value}},
    )
    return str(response["MessageId"])
