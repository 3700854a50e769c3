"""A happening's Slack thread as messages: the parent (state, count, since when, acknowledgement, snooze,
flapping, buttons) and each reply. Block shapes are Slack's Block Kit (https://api.slack.com/reference/block-kit),
built with slack_sdk's models; escaping follows `slack_blocks` (every string from outside escaped for its
field, the `text` fallback included; only our own tokens, dates and `<@U…>` of a verified user id, are not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from shoplake.alerts.model import Alert, Severity
from shoplake.alerts.slack_blocks import SEVERITY_LABEL, SlackMessage, escape, one_line, render, when_text
from shoplake.alerts.threads import ACKNOWLEDGE, SNOOZE_1H, SNOOZE_UNTIL_OK, Person, Reply, Thread
from shoplake.business import stored_time

# Slack user ids: `U…` or `W…` (Enterprise Grid), upper-case letters and digits.
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{6,20}")
# Slack's limits: header 150 characters, section text 3000, a button's value 2000.
_HEADER_MAX = 150
_TEXT_MAX = 3000
_VALUE_MAX = 2000
_RESOLVED = ":white_check_mark:"
_PRESSES = {"acknowledged": "acknowledged", "snoozed_1h": "snoozed for 1 h", "snoozed_until_ok": "snoozed until OK"}


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]{0,3}$", "", text[: limit - 1]) + "…"


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=_cut(text, _TEXT_MAX), verbatim=True)


def date_token(at: float) -> str:
    """A Slack date token (`<!date^…|… UTC>`) for `at`, seconds since the epoch: each reader sees their zone."""
    return when_text(stored_time(datetime.fromtimestamp(at, tz=UTC)))


def duration_text(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 5 min` or `2 d 4 h`: how long something lasted, in whole units (never negative)."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def person_text(person: Person) -> str:
    """A mention `<@U…>` when `person.id` is a Slack user id, else the escaped name (no mention can be forged)."""
    if SLACK_USER_ID.fullmatch(person.id):
        return f"<@{person.id}>"
    return escape(one_line(person.name or "someone"))


def _plain_person(person: Person) -> str:
    return one_line(person.name or person.id or "someone")


def _ended(thread: Thread) -> str:
    return "resolved" if thread.key.startswith("alarm:") else "done"


def flapping_text(thread: Thread, flap_window_s: float) -> str:
    """`flapping: 7 changes in 30 min`: the state changes within the window."""
    return f"flapping: {len(thread.changes)} changes in {duration_text(flap_window_s)}"


def render_parent(thread: Thread, *, flap_window_s: float = 1800.0) -> SlackMessage:
    """The parent message as `thread` is now.

    Blocks: a `header` (severity emoji, or a check mark once closed, and the title; plain text); a `section`
    with state, count, since when (Slack date token), how long it lasted once closed, flapping,
    acknowledgement and snooze; the latest summary (escaped mrkdwn); and while open and critical or warning,
    an `actions` block with Acknowledge (until pressed), Snooze 1 h and Snooze until OK, each button's
    `value` the thread key. The fallback `text` is one escaped line.
    """
    emoji, label = SEVERITY_LABEL[thread.severity]
    if not thread.is_open:
        emoji = _RESOLVED if thread.severity in (Severity.SUCCESS, Severity.INFO) else emoji
    facts = [f"*State:* {escape(one_line(thread.state))}"]
    if thread.flapping:
        facts.append(f":warning: *{flapping_text(thread, flap_window_s)}*")
    facts.append(f"*Count:* {thread.count} · *since* {date_token(thread.changed_at)}")
    if thread.closed_at is not None and thread.count > 1:  # a happening first heard of at its end lasted unknown
        facts.append(f"*{_ended(thread).capitalize()}* after {duration_text(thread.closed_at - thread.opened_at)}")
    if thread.acknowledged_by is not None and thread.acknowledged_at is not None:
        who = person_text(thread.acknowledged_by)
        facts.append(f":eyes: *Acknowledged* by {who} at {date_token(thread.acknowledged_at)}")
    if thread.snooze_until_ok and thread.is_open:
        facts.append(":zzz: *Snoozed until OK*: repeats go quietly to the thread")
    elif thread.snoozed_until is not None:
        facts.append(f":zzz: *Snoozed* until {date_token(thread.snoozed_until)}: repeats go quietly to the thread")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_cut(one_line(f"{emoji} {thread.title}"), _HEADER_MAX), emoji=True)),
        SectionBlock(text=_mrkdwn("\n".join(facts))),
    ]
    if thread.alert is not None:
        opening = str(thread.alert.get("title") or "")
        if opening and opening != thread.title:  # the header shows the newest title: the first stays told here
            blocks.append(SectionBlock(text=_mrkdwn(f"*{escape(one_line(opening))}*")))
        blocks += _alert_body(thread.alert)
    elif thread.summary.strip():
        blocks.append(SectionBlock(text=_mrkdwn(escape(thread.summary))))
    buttons = _buttons(thread) if thread.buttons() else []
    if buttons:  # Slack refuses an actions block without elements
        blocks.append(ActionsBlock(elements=buttons))
    status = "flapping" if thread.flapping else (_ended(thread) if not thread.is_open else "open")
    text = f"[{label}] {thread.title} — {thread.state} ({status}, {thread.count} alert{'s' * (thread.count != 1)})"
    return SlackMessage(text=escape(one_line(text)), blocks=[b.to_dict() for b in blocks])


def _buttons(thread: Thread) -> list[ButtonElement]:
    # Escaped like every other string of the message; interactions.read_press unescapes it.
    value = escape(thread.key)
    if len(value) > _VALUE_MAX:  # a cut key would name no thread: no buttons rather than buttons that fail
        return []
    buttons = []
    if thread.acknowledged_by is None:
        buttons.append(ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE, value=value, style="primary"))
    if not thread.snooze_until_ok:
        buttons.append(ButtonElement(text="Snooze 1 h", action_id=SNOOZE_1H, value=value))
        buttons.append(ButtonElement(text="Snooze until OK", action_id=SNOOZE_UNTIL_OK, value=value))
    return buttons


def reply_line(thread: Thread, reply: Reply) -> str:
    """The reply's first line as plain text (not escaped): what happened, in a few words."""
    by = _plain_person(reply.by) if reply.by else "someone"
    lines = {
        "alert": reply.title if reply.state in reply.title else f"{reply.state}: {reply.title}",
        "late": f"reported late (the thread had newer news): {reply.title}",
        "resolved": f"resolved ({reply.state}) after {duration_text(reply.at - thread.opened_at)}",
        "outcome": f"{reply.state}: {reply.title} (after {duration_text(reply.at - thread.opened_at)})",
        "flapping_over": f"stable again, now {reply.state}, after {reply.changes} changes while flapping",
        "reannounce": f"still {reply.state} and not acknowledged: {reply.title}",
        **{what: f"{text} by {by}" for what, text in _PRESSES.items()},
    }
    return one_line(lines.get(reply.what, reply.title))


def render_reply(thread: Thread, reply: Reply) -> SlackMessage:
    """A reply in `thread`: a `section` with the severity emoji and `reply_line` (a verified presser as a
    mention), the alert's summary when it has one (escaped mrkdwn), and a `context` with its date token."""
    emoji, label = SEVERITY_LABEL[reply.severity]
    if reply.what == "resolved":
        emoji = _RESOLVED
    line = escape(reply_line(thread, reply))
    if reply.by is not None and reply.what in _PRESSES:
        line = f"{_PRESSES[reply.what]} by {person_text(reply.by)}"
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(f"{emoji} {line}"))]
    told = reply.what in ("alert", "outcome", "resolved", "late")
    if told and reply.alert is not None:
        blocks += _reply_body(reply.alert)
    elif reply.summary.strip() and told:
        blocks.append(SectionBlock(text=_mrkdwn(escape(reply.summary))))
    blocks.append(ContextBlock(elements=[_mrkdwn(date_token(reply.at))]))
    return SlackMessage(text=escape(f"[{label}] {reply_line(thread, reply)}"), blocks=[b.to_dict() for b in blocks])


def _reply_body(alert: Mapping[str, Any]) -> list[Block]:
    """What a reply adds to its thread: the alert's summary, a link for the reader to follow, and the alert's own
    facts (not the severity, resource, time and place the parent already shows); no context line."""
    kept: list[Block] = [b for b in _alert_body(alert) if isinstance(b, SectionBlock) and b.text is not None]
    own = Alert.from_dict(alert).fields
    if own:
        kept.append(
            SectionBlock(fields=[_mrkdwn(_cut(f"*{escape(name)}*\n{escape(value)}", 2000)) for name, value in own[:10]])
        )
    return kept


def _alert_body(alert: Mapping[str, Any]) -> list[Block]:
    """The blocks `slack_blocks.render` gives the alert, but its header: summary, link, facts and context, each
    escaped there for its field, so a thread shows all that a message of its own would."""
    parsed = (Block.parse(block) for block in render(Alert.from_dict(alert)).blocks if block.get("type") != "header")
    return [block for block in parsed if block is not None]
