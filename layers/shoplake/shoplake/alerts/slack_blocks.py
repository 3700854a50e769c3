"""Render an `Alert` as a Slack message: Block Kit blocks plus a plain-text fallback.

The fallback is what notifications, screen readers and old clients show, so it carries
the whole story on one line. Block shapes and limits are Slack's Block Kit reference
(https://api.slack.com/reference/block-kit/blocks); text follows Slack's mrkdwn and its escaping and
date formatting rules (https://api.slack.com/reference/surfaces/formatting).
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
    """A message for `chat.postMessage` or an incoming webhook: fallback `text` and Block Kit `blocks`."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """`text` with Slack's three control characters escaped: `&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when_text(occurred_at: str | None) -> str:
    """A Slack date token for an alert time, so every reader sees it in their own zone.

    `occurred_at` is RFC 3339 UTC as `timestamps.to_utc_iso` writes it; the token is
    `<!date^<epoch seconds>^{date_short_pretty} {time_secs}|<YYYY-MM-DD HH:MM:SS UTC>>`, the part after `|`
    being what clients that cannot format dates show. `"unknown"` when there is no time; raises ValueError
    for text that is not ISO 8601.
    """
    if not occurred_at:
        return "unknown"
    fallback = occurred_at.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"
    return f"<!date^{epoch_seconds(occurred_at)}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def where_text(alert: Alert) -> str:
    """`"<account> / <region>"`, each `unknown ...` when the alert does not say; plain text, not escaped."""
    return f"{alert.account or 'unknown account'} / {alert.region or 'unknown region'}"


def fallback_text(alert: Alert) -> str:
    """The one-line plain-text version: `[<Severity>] <title> — <source> <resource> in <where> at <time> UTC`.

    Used as the message's top-level `text`, which Slack shows in notifications and to screen readers.
    Not escaped; the time is `occurred_at` cut to seconds, or `unknown time`.
    """
    _, label = SEVERITY_LABEL[alert.severity]
    when = (
        alert.occurred_at.replace("T", " ").split(".")[0].rstrip("Z") + " UTC" if alert.occurred_at else "unknown time"
    )
    return f"[{label}] {alert.title} — {alert.source} {alert.resource} in {where_text(alert)} at {when}"


def render(alert: Alert) -> SlackMessage:
    """The Slack message for `alert`: header, summary section, fact fields, and a context line.

    Blocks: a `header` (severity emoji and title, cut to 150 characters), a `section` with the summary as
    mrkdwn (3,000), `section`s of at most 10 `fields` (2,000 each: severity, resource, time, account/region,
    then `alert.fields`), and a `context` with the console link, source and detail type. The mrkdwn texts
    are escaped with `escape` (which keeps `*bold*` and `` `code` ``), except the date token and the link;
    the header is `plain_text`. Raises ValueError when `occurred_at` is not ISO 8601 (see `when_text`).
    """
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
