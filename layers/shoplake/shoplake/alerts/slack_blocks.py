"""Render an `Alert` as a Slack message: Block Kit blocks plus a plain-text fallback.

The fallback is what notifications, screen readers and old clients show, so it carries
the whole story on one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shoplake.alerts.model import Alert, Severity
from shoplake.alerts.timestamps import epoch_seconds

SEVERITY_LABEL = {
    Severity.CRITICAL: (":red_circle:", "Critical"),
    Severity.WARNING: (":large_orange_circle:", "Warning"),
    Severity.INFO: (":large_blue_circle:", "Info"),
    Severity.SUCCESS: (":large_green_circle:", "OK"),
}

# Slack's limits: header text 150, section text 3000, field text 2000, 10 fields a section.
_HEADER_MAX = 150
_TEXT_MAX = 3000
_FIELD_MAX = 2000
_FIELDS_PER_SECTION = 10


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Slack's mrkdwn control characters; the only three it asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when_text(occurred_at: str | None) -> str:
    """A Slack date token, so every reader sees the time in their own zone."""
    if not occurred_at:
        return "unknown"
    fallback = occurred_at.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"
    return f"<!date^{epoch_seconds(occurred_at)}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def where_text(alert: Alert) -> str:
    return f"{alert.account or 'unknown account'} / {alert.region or 'unknown region'}"


def fallback_text(alert: Alert) -> str:
    _, label = SEVERITY_LABEL[alert.severity]
    when = (
        alert.occurred_at.replace("T", " ").split(".")[0].rstrip("Z") + " UTC" if alert.occurred_at else "unknown time"
    )
    return f"[{label}] {alert.title} — {alert.source} {alert.resource} in {where_text(alert)} at {when}"


def render(alert: Alert) -> SlackMessage:
    emoji, label = SEVERITY_LABEL[alert.severity]
    facts = [
        ("Severity", label),
        ("Resource", alert.resource),
        ("When", when_text(alert.occurred_at)),
        ("Where", where_text(alert)),
        *alert.fields,
    ]
    rendered = [
        {"type": "mrkdwn", "text": _cut(f"*{escape(name)}*\n{value if name == 'When' else escape(value)}", _FIELD_MAX)}
        for name, value in facts
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(f"{emoji} {alert.title}", _HEADER_MAX), "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_summary_mrkdwn(alert.summary), _TEXT_MAX)}},
    ]
    for start in range(0, len(rendered), _FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": rendered[start : start + _FIELDS_PER_SECTION]})
    context = [f"{escape(alert.source)} · {escape(alert.detail_type)}"]
    if alert.console_url:
        context.insert(0, f"<{alert.console_url}|Open in the AWS console>")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    return SlackMessage(text=fallback_text(alert), blocks=blocks)


def _summary_mrkdwn(summary: str) -> str:
    # Summaries carry deliberate *bold* and `code`; only the control characters are escaped.
    return escape(summary)
