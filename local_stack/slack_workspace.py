"""The local Slack's workspace: channels, messages and threads, and the Web API methods that change them.

Pure state, no HTTP (local_stack/slack_sink.py serves it). It answers as Slack's Web API does:

- `chat.postMessage` (https://docs.slack.dev/reference/methods/chat.postMessage): `channel` a name (`#x` or
  `x`) or an ID, `text`, `blocks`, `thread_ts`, `reply_broadcast`, `metadata`; answers the channel's ID and
  the message's `ts`;
- `chat.update` (https://docs.slack.dev/reference/methods/chat.update): `message_not_found` for a message
  that is not there (never posted, or deleted); blocks left out keep the message's blocks;
- `conversations.replies` (https://docs.slack.dev/reference/methods/conversations.replies): the parent, then
  its replies oldest first, cursor-paginated (`limit`, `response_metadata.next_cursor`; a continuation page
  leaves the parent out), metadata only with `include_all_metadata`; `thread_not_found` when the parent is
  gone.

A channel name gets a stable ID (`C` and 10 letters or digits, the same in every run); every `ts` is unique
and increasing. A message's JSON is Slack's message object (type, user, bot_id, text, blocks, ts, thread_ts,
reply_count, subtype `thread_broadcast`, edited, metadata).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

# Who posts, as Slack names the local app's bot (IDs of the shape Slack uses).
BOT_USER_ID = "U0LOCALBOT"
BOT_ID = "B0LOCALBOT"
APP_ID = "A0LOCALAPP"
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,}")
_CURSOR_PREFIX = "next_ts:"


@dataclass(frozen=True)
class SinkMessage:
    """One message as the local Slack keeps it.

    `via`: "webhook" or "chat.postMessage"; `channel`: the channel's name (`#x`; None through a webhook);
    `channel_id`: its ID (`C…`); `ts`: Slack's message timestamp; `thread_ts`: the parent's ts for a reply;
    `broadcast`: a reply also sent to the channel; `metadata`: Slack message metadata (`event_type`,
    `event_payload`); `edited`: changed by chat.update, last at `edited_ts` (the message is replaced where
    it stands in `SlackSink.messages`, its earlier versions in `history`, oldest first); `deleted`: deleted
    in Slack.
    """

    via: str
    channel: str | None
    text: str
    blocks: list[dict[str, Any]]
    ts: str | None = None
    thread_ts: str | None = None
    broadcast: bool = False
    metadata: dict[str, Any] | None = None
    edited: bool = False
    edited_ts: str | None = None
    deleted: bool = False
    channel_id: str | None = None
    history: tuple[SinkMessage, ...] = field(default=(), repr=False)


class SlackError(Exception):
    """A Web API error: Slack answers HTTP 200 with `{"ok": false, "error": code}`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def channel_id_for(name: str) -> str:
    """The stable ID of channel `name` (`#x` and `x` are one channel): `C` and 10 of [A-Z2-7]."""
    digest = hashlib.sha256(name.lstrip("#").lower().encode()).digest()
    return "C" + base64.b32encode(digest).decode()[:10]


def _flag(value: Any) -> bool:
    """A Web API boolean: JSON true, or "1"/"true" in a form or query string."""
    return value is True or str(value).lower() in {"1", "true"}


def _json_field(value: Any) -> Any:
    """A structured field (blocks, metadata) sent as JSON or, in a form, as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value else None
        except ValueError:
            raise SlackError("invalid_arguments") from None
    return value


class Workspace:
    """The channels and messages of the local Slack; each method is one Web API method or a person's act.

    `messages` lists every message in the order posted (updated and deleted ones stay where they stand);
    `replies_page_size` caps a `conversations.replies` page below the `limit` asked for, as Slack may.
    """

    def __init__(self) -> None:
        self.messages: list[SinkMessage] = []
        self.replies_page_size = 1000
        self._names: dict[str, str] = {}  # channel ID -> "#name"
        self._last_ts = 0

    # -- channels and ts --------------------------------------------------------------------------------
    def channel_id(self, channel: str) -> str:
        """The ID of `channel` (a name, `#x` or `x`, or an ID); raises SlackError(channel_not_found)."""
        if _CHANNEL_ID.fullmatch(channel):
            if channel not in self._names:
                raise SlackError("channel_not_found")
            return channel
        if not channel.lstrip("#"):
            raise SlackError("channel_not_found")
        name = "#" + channel.lstrip("#").lower()
        ident = channel_id_for(name)
        self._names.setdefault(ident, name)
        return ident

    def channel_name(self, ident: str) -> str:
        """The `#name` of the channel with ID `ident` (or of the name given)."""
        return self._names[self.channel_id(ident)]

    def next_ts(self) -> str:
        """A message ts: seconds.microseconds of now, later than every ts before it."""
        self._last_ts = max(int(time.time() * 1_000_000), self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    # -- messages -----------------------------------------------------------------------------------------
    def find(self, channel: str, ts: str) -> tuple[int, SinkMessage]:
        """The index in `messages` and the message of `ts` in `channel`; raises SlackError(message_not_found)."""
        ident = self.channel_id(channel)
        for index, message in enumerate(self.messages):
            if message.channel_id == ident and message.ts == ts:
                return index, message
        raise SlackError("message_not_found")

    def replies_to(self, parent: SinkMessage) -> list[SinkMessage]:
        """The replies in `parent`'s thread that are not deleted, oldest first."""
        return [
            m for m in self.messages if m.channel_id == parent.channel_id and m.thread_ts == parent.ts and not m.deleted
        ]

    def thread(self, channel: str, ts: str) -> list[SinkMessage]:
        """The parent `ts` in `channel` as it is now (perhaps deleted), then its replies; raises SlackError."""
        _, message = self.find(channel, ts)
        parent = self.find(channel, message.thread_ts)[1] if message.thread_ts else message
        return [parent, *self.replies_to(parent)]

    def webhook(self, body: dict[str, Any]) -> None:
        """An incoming-webhook post (to the webhook's own channel)."""
        self.messages.append(
            SinkMessage("webhook", None, body.get("text", ""), body.get("blocks") or [], ts=self.next_ts())
        )

    def post(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.postMessage; answers `{"ok", "channel" (ID), "ts", "message"}`."""
        ident = self.channel_id(str(params.get("channel") or ""))
        text = params.get("text") or ""
        blocks = _json_field(params.get("blocks")) or []
        if not text and not blocks:
            raise SlackError("no_text")
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            # A reply to a reply joins the parent's thread; a thread whose parent never was is refused
            # (thread_not_found: this stand-in's choice); a deleted parent's thread goes on, as in Slack.
            try:
                _, parent = self.find(ident, str(thread_ts))
            except SlackError:
                raise SlackError("thread_not_found") from None
            thread_ts = parent.thread_ts or parent.ts
        metadata = _json_field(params.get("metadata"))
        message = SinkMessage(
            "chat.postMessage",
            self._names[ident],
            text,
            blocks,
            ts=self.next_ts(),
            thread_ts=thread_ts,
            broadcast=bool(thread_ts) and _flag(params.get("reply_broadcast")),
            metadata=metadata or None,
            channel_id=ident,
        )
        self.messages.append(message)
        return {"ok": True, "channel": ident, "ts": message.ts, "message": self.as_json(message, metadata=False)}

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.update; answers `{"ok", "channel", "ts", "text", "message"}`; SlackError(message_not_found)."""
        ident = self.channel_id(str(params.get("channel") or ""))
        index, old = self.find(ident, str(params.get("ts") or ""))
        if old.deleted:
            raise SlackError("message_not_found")
        blocks = _json_field(params.get("blocks"))
        metadata = _json_field(params.get("metadata"))
        new = replace(
            old,
            text=params["text"] if params.get("text") is not None else old.text,
            blocks=old.blocks if blocks is None else blocks,
            metadata=metadata or old.metadata,
            edited=True,
            edited_ts=self.next_ts(),
            history=(*old.history, replace(old, history=())),
        )
        self.messages[index] = new
        return {"ok": True, "channel": ident, "ts": new.ts, "text": new.text, "message": self.as_json(new)}

    def delete(self, channel: str, ts: str) -> None:
        """Someone deletes the message `ts` in `channel` (its replies stay); raises SlackError(message_not_found)."""
        index, message = self.find(channel, ts)
        self.messages[index] = replace(message, deleted=True)

    def replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.replies; one page of `{"ok", "messages", "has_more", "response_metadata"}`."""
        ident = self.channel_id(str(params.get("channel") or ""))
        try:
            thread = self.thread(ident, str(params.get("ts") or ""))
        except SlackError:
            raise SlackError("thread_not_found") from None
        if thread[0].deleted:
            raise SlackError("thread_not_found")
        limit = min(int(params.get("limit") or 1000), self.replies_page_size)
        cursor = params.get("cursor")
        if cursor:
            try:
                start = base64.b64decode(str(cursor)).decode().removeprefix(_CURSOR_PREFIX)
            except ValueError:
                raise SlackError("invalid_cursor") from None
            thread = [m for m in thread[1:] if m.ts and m.ts >= start]
        page, rest = thread[:limit], thread[limit:]
        with_metadata = _flag(params.get("include_all_metadata"))
        next_cursor = base64.b64encode(f"{_CURSOR_PREFIX}{rest[0].ts}".encode()).decode() if rest else ""
        return {
            "ok": True,
            "messages": [self.as_json(m, metadata=with_metadata) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.history: the channel's messages (not replies) newer than `oldest`, newest first, in one
        page of at most `limit`; a channel must be named by its ID, as Slack requires (`channel_not_found`)."""
        ident = str(params.get("channel") or "")
        if ident not in self._names:
            raise SlackError("channel_not_found")
        oldest = float(params.get("oldest") or 0)
        found = [
            m
            for m in self.messages
            if m.channel_id == ident and not m.thread_ts and not m.deleted and float(m.ts or 0) > oldest
        ]
        limit = int(params.get("limit") or 100)
        with_metadata = _flag(params.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self.as_json(m, metadata=with_metadata) for m in reversed(found)][:limit],
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def as_json(self, message: SinkMessage, *, metadata: bool = True) -> dict[str, Any]:
        """`message` as Slack's Web API shows it (a parent with replies carries reply_count and latest_reply)."""
        shown: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": message.text,
            "blocks": message.blocks,
            "ts": message.ts,
        }
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
            shown["parent_user_id"] = BOT_USER_ID
            if message.broadcast:
                shown["subtype"] = "thread_broadcast"
        else:
            replies = self.replies_to(message)
            if replies:
                shown.update(
                    thread_ts=message.ts,
                    reply_count=len(replies),
                    reply_users=[BOT_USER_ID],
                    reply_users_count=1,
                    latest_reply=replies[-1].ts,
                )
        if message.edited:
            shown["edited"] = {"user": BOT_USER_ID, "ts": message.edited_ts}
        if metadata and message.metadata:
            shown["metadata"] = message.metadata
        return shown
