"""Slack messages and threads as a person sees them, for a terminal: what `make demo` prints, what tests read.

Block Kit's blocks (https://docs.slack.dev/reference/block-kit/blocks) are shown by kind: a header's text,
a section's text and fields, a context's elements, an actions block's buttons as `[Label]`. Slack's date
tokens and links are shown as their fallback text, its `&amp;`, `&lt;`, `&gt;` undone, and control
characters escaped so that no message can act on the terminal.
"""

from __future__ import annotations

import re
from typing import Any

from local_stack.slack_workspace import SinkMessage

_DATE_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
# C0 and C1 control characters but the newline: a terminal would act on them (ANSI escapes).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _for_terminal(text: str) -> str:
    """Slack's date tokens and links as a terminal can show them, its escapes undone, control characters shown."""
    text = _LINK.sub(lambda m: f"{m.group(2)}: {m.group(1)}", _DATE_TOKEN.sub(r"\1", text))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def _button_label(element: dict[str, Any]) -> str:
    return str((element.get("text") or {}).get("text", element.get("action_id", "?")))


def body_lines(message: SinkMessage) -> list[str]:
    """The lines of `message` itself: header, text, fields, context, buttons (its `text` when it has no blocks)."""
    lines: list[str] = []
    for block in message.blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(block["text"]["text"])
        elif kind == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            for item in block.get("fields") or []:
                name, _, value = item["text"].partition("\n")
                lines.append(f"  {name.strip('*')}: {value}")
        elif kind == "context":
            lines.append("  " + " ".join(e.get("text", "") for e in block["elements"]))
        elif kind == "actions":
            buttons = [e for e in block.get("elements") or [] if e.get("type") == "button"]
            lines.append(" ".join(f"[{_button_label(e)}]" for e in buttons))
    if not message.blocks:
        lines.append(message.text)
    return lines


def as_text(message: SinkMessage) -> str:
    """A Slack message as a terminal would show it: its channel, then header, text, fields, context, buttons."""
    lines = [f"── {message.channel or '(webhook channel)'} " + "─" * 40]
    lines.extend(body_lines(message))
    return _for_terminal("\n".join(lines))


def thread_text(thread: list[SinkMessage]) -> str:
    """A thread (its parent, then its replies) as a person sees it in Slack.

    The parent as it is now, `(edited)` when it was updated, "This message was deleted." when it was; then
    each reply indented under `↳`, a reply also sent to the channel marked so.
    """
    parent, *replies = thread
    lines = [f"── {parent.channel or '(webhook channel)'} " + "─" * 40]
    if parent.deleted:
        lines.append("This message was deleted.")
    else:
        lines.extend(body_lines(parent))
        if parent.edited:
            lines.append("(edited)")
    if replies:
        lines.append(f"  {len(replies)} {'reply' if len(replies) == 1 else 'replies'}")
    for reply in replies:
        body = body_lines(reply)
        if reply.edited:
            body.append("(edited)")
        if reply.broadcast:
            body.append("(also sent to the channel)")
        shown = "\n".join(body).splitlines() or [""]
        lines.extend(("  ↳ " if i == 0 else "    ") + line for i, line in enumerate(shown))
    return _for_terminal("\n".join(lines))
