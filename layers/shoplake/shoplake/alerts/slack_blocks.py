"""Render an `Alert` as a Slack message: Block Kit blocks plus a plain-text fallback.

The fallback is what notifications, screen readers and old clients show, so it carries
the whole story on one line. Block shapes and limits are Slack's Block Kit reference
(https://api.slack.com/reference/block-kit/blocks).

Every string from outside (alarm names and descriptions, error messages, file names, the
cells of a survey) reaches Slack escaped for the field it goes into, as Slack's formatting
reference asks (https://docs.slack.dev/messaging/formatting-message-text#escaping):

- mrkdwn (the message's `text`, section and context texts): `&`, `<` and `>` become
  entities, so no `<!channel>`, `<@U…>` or `<url|label>` can be written from outside; and
  mrkdwn objects are `verbatim`, so Slack does not turn bare names into mentions or links;
- plain_text (the header): taken literally by Slack, so left as it is (entities would show);
- link targets: percent-encoded where a URL may not hold a character, then escaped.

Only our own tokens (the date, the console link) are written unescaped. The blocks are
built with slack_sdk's Block Kit models, which refuse any block past Slack's limits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

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
# A link longer than this is left out rather than risk a cut through it.
_LINK_MAX = 2000


@dataclass(frozen=True)
class SlackMessage:
    """A message for `chat.postMessage` or an incoming webhook: fallback `text` and Block Kit `blocks`."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """`text` with Slack's three control characters escaped: `&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of `escape`: `&lt;` -> `<`, `&gt;` -> `>`, then `&amp;` -> `&`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# A cut must not leave half an entity (`&am`), which Slack would show as typed.
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# What a URL may hold as it is (RFC 3986's reserved and unreserved characters, and `%`); `|` ends a link's target.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


# Unicode's bidirectional controls (UAX #9: embeddings, overrides, isolates, marks): they reorder what follows.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str) -> str:
    """`text` with each control character (line breaks, tabs, ANSI escapes) and each bidirectional control
    (U+202E and its kin, which would reverse what people read) as its Python escape (`\\n`, `\\u202e`).

    For the places Slack shows one line: the header, the notification text, the resource. Never raises.
    """
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS else ch
        for ch in text
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def link(url: str, label: str) -> str | None:
    """A mrkdwn link to an http(s) URL, or None for anything else (or a URL too long to be cut safely)."""
    if not url.startswith(("https://", "http://")):
        return None
    target = escape(quote(url, safe=_URL_SAFE))
    return f"<{target}|{escape(label)}>" if len(target) <= _LINK_MAX else None


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def when_text(occurred_at: str | None) -> str:
    """A Slack date token for an alert time, so every reader sees it in their own zone.

    `occurred_at` is RFC 3339 UTC as `timestamps.to_utc_iso` writes it; the token is
    `<!date^<epoch seconds>^{date_short_pretty} {time_secs}|<YYYY-MM-DD HH:MM:SS UTC>>`, the part after `|`
    being what clients that cannot format dates show. `"unknown"` when there is no time; raises ValueError
    for text that is not ISO 8601.
    """
    if not occurred_at:
        return "unknown"
    return f"<!date^{epoch_seconds(occurred_at)}^{{date_short_pretty}} {{time_secs}}|{escape(_utc_text(occurred_at))}>"


def _utc_text(occurred_at: str) -> str:
    return occurred_at.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"


def where_text(alert: Alert) -> str:
    """`"<account> / <region>"`, each `unknown ...` when the alert does not say; plain text, not escaped."""
    return f"{alert.account or 'unknown account'} / {alert.region or 'unknown region'}"


def fallback_text(alert: Alert) -> str:
    """The message's top-level `text`: `[<Severity>] <title> — <source> <resource> in <where> at <time> UTC`.

    Slack shows it in notifications and to screen readers and reads it as mrkdwn, so the whole line is
    escaped like the blocks; the time is `occurred_at` cut to seconds, or `unknown time`.
    """
    _, label = SEVERITY_LABEL[alert.severity]
    when = _utc_text(alert.occurred_at) if alert.occurred_at else "unknown time"
    return escape(
        one_line(f"[{label}] {alert.title} — {alert.source} {alert.resource} in {where_text(alert)} at {when}")
    )


def render(alert: Alert) -> SlackMessage:
    """The Slack message for `alert`: header, summary section, fact fields, and a context line.

    Blocks: a `header` (severity emoji and title, cut to 150 characters); a `section` with the summary as
    mrkdwn (3,000; left out when the summary is empty, which Slack refuses); `section`s of at most 10
    `fields` (2,000 each: severity, resource, time, account/region, then `alert.fields`); and a `context`
    with the console link, source and detail type. A link with its own `link_label` is a section of its own
    after the summary instead of the context's console link. The mrkdwn texts are escaped with `escape` (which keeps
    `*bold*` and `` `code` ``), except the date token and the link; the header is `plain_text`. Raises
    ValueError when `occurred_at` is not ISO 8601 (see `when_text`).
    """
    emoji, label = SEVERITY_LABEL[alert.severity]
    facts = [
        ("Severity", escape(label)),
        ("Resource", escape(one_line(alert.resource))),
        ("When", when_text(alert.occurred_at)),
        ("Where", escape(where_text(alert))),
        *((name, escape(value)) for name, value in alert.fields),
    ]
    rendered = [_mrkdwn(_cut(f"*{escape(name)}*\n{value}", _FIELD_MAX)) for name, value in facts]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_cut(one_line(f"{emoji} {alert.title}"), _HEADER_MAX), emoji=True))
    ]
    if alert.summary.strip():  # Slack refuses a section with empty text
        # Summaries carry deliberate *bold* and `code`; only the control characters are escaped.
        blocks.append(SectionBlock(text=_mrkdwn(_cut(escape(alert.summary), _TEXT_MAX))))
    followed = link(alert.console_url, alert.link_label) if alert.console_url and alert.link_label else None
    if followed:  # a link the reader is meant to follow gets a section of its own, after the summary
        blocks.append(SectionBlock(text=_mrkdwn(followed)))
    for start in range(0, len(rendered), _FIELDS_PER_SECTION):
        blocks.append(SectionBlock(fields=rendered[start : start + _FIELDS_PER_SECTION]))
    context = [f"{escape(alert.source)} · {escape(alert.detail_type)}"]
    console = link(alert.console_url, "Open in the AWS console") if alert.console_url and not followed else None
    if console:
        context.insert(0, console)
    blocks.append(ContextBlock(elements=[_mrkdwn(_cut(" · ".join(context), _TEXT_MAX))]))
    return SlackMessage(text=fallback_text(alert), blocks=[block.to_dict() for block in blocks])
