"""Anything no other reader knows: still a readable message, never only a JSON dump."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.sources.eventbridge import EventEnvelope

_MAX_KEY_FIELDS = 6
_MAX_VALUE = 200
_MAX_TEXT = 1500


def _fingerprint(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _key_fields(detail: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The detail's top-level scalar fields: names, ids and states are usually there."""
    fields = []
    for key, value in detail.items():
        if isinstance(value, str | int | float | bool) and value != "":
            text = str(value)
            fields.append((key, text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"))
        if len(fields) == _MAX_KEY_FIELDS:
            break
    return fields


def from_event(event: EventEnvelope, why: str | None = None) -> Alert:
    """An EventBridge event no reader knows (or could read, `why` says) as an info alert, `recognised=False`.

    Shows up to 6 top-level scalar fields of `detail` (each cut to 200 characters); the dedupe key is the
    event `id`, else a SHA-256 of the whole event. Never raises.
    """
    name = event.detail_type or "event"
    resource = event.resources[0] if event.resources else (event.source or "unknown source")
    summary = f"shoplake has no message format for *{name}* from `{event.source or 'an unknown source'}`."
    if why:
        summary += f" ({why})"
    summary += " Its key fields are below; the whole event is in the notifier's log."
    return Alert(
        title=f"{name} ({event.source or 'unknown source'})",
        summary=summary,
        severity=Severity.INFO,
        category=Category.OTHER,
        source=event.source or "unknown",
        resource=resource,
        dedupe_key=f"event:{event.event_id or _fingerprint(event.raw)}",
        detail_type=name,
        account=event.account,
        region=event.region,
        occurred_at=event.time,
        console_url=None,
        fields=(("Source", event.source or "—"), ("Detail type", name), *_key_fields(event.detail)),
        recognised=False,
    )


def from_sns(sns: Mapping[str, Any], parsed: object, why: str | None = None) -> Alert:
    """An SNS message no reader knows (or could read, `why` says) as an info alert, `recognised=False`.

    `sns` is the record's `Sns` object and `parsed` its `Message` parsed as JSON (None if it is not JSON):
    a JSON object shows up to 6 of its scalar fields, other text is shown cut to 1,500 characters. The
    dedupe key is the SNS `MessageId`, else a hash of the message; `occurred_at` is SNS's `Timestamp` as sent.
    """
    topic_arn = sns.get("TopicArn")
    topic = str(topic_arn or "").rsplit(":", 1)[-1] or "an SNS topic"
    subject = sns.get("Subject") or f"Message on {topic}"
    message = sns.get("Message") or ""
    if isinstance(parsed, Mapping):
        fields = _key_fields(parsed)
        text = "The message's key fields are below; the whole message is in the notifier's log."
    else:
        fields = []
        text = message if len(message) <= _MAX_TEXT else message[: _MAX_TEXT - 1] + "…"
    summary = f"A message on *{topic}* that shoplake has no format for"
    summary += f" ({why})." if why else "."
    return Alert(
        title=subject,
        summary=f"{summary}\n{text}",
        severity=Severity.INFO,
        category=Category.OTHER,
        source="Amazon SNS",
        resource=topic,
        dedupe_key=f"sns:{sns.get('MessageId') or _fingerprint(message)}",
        detail_type="SNS message",
        account=console.account_of_arn(topic_arn),
        region=console.region_of_arn(topic_arn),
        occurred_at=sns.get("Timestamp"),
        fields=(("Topic", topic), *fields),
        recognised=False,
    )


def from_payload(payload: Mapping[str, Any]) -> Alert:
    """An invocation payload that is neither an SNS delivery nor an EventBridge event."""
    return Alert(
        title="Unrecognised invocation payload",
        summary="The notifier was invoked with a payload it cannot read. "
        "Its key fields are below; the whole payload is in the notifier's log.",
        severity=Severity.INFO,
        category=Category.OTHER,
        source="unknown",
        resource="slack notifier",
        dedupe_key=f"payload:{_fingerprint(payload)}",
        detail_type="unknown payload",
        fields=tuple(_key_fields(payload)) or (("Keys", ", ".join(map(str, payload)) or "none"),),
        recognised=False,
    )
