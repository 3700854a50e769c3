"""Stand-ins for the thread tests: an in-memory Slack with threads, alerts of one alarm, the thread table."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from shoplake.alerts.delivery import MessageNotFound, Receipt
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
from shoplake.alerts.slack_blocks import SlackMessage

ALARM_KEY = "alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx"
CHANNEL_ID = "C0ONCALL01"
T0 = 1_795_000_000.0  # 2026-11-18T10:13:20Z


def alarm(
    state: str = "ALARM",
    *,
    n: int = 1,
    severity: Severity = Severity.CRITICAL,
    phase: Phase | None = None,
    key: str = ALARM_KEY,
    title: str = "ALARM: shoplake-dev-web-5xx",
) -> Alert:
    """The `n`th transition of one CloudWatch alarm (its own dedupe key), as the sources read it."""
    phases = {"ALARM": Phase.OPEN, "OK": Phase.CLOSE, "INSUFFICIENT_DATA": Phase.PROGRESS}
    return Alert(
        title=title,
        summary=f"Threshold crossed ({state}, transition {n}).",
        severity=Severity.SUCCESS if state == "OK" else severity,
        category=Category.ALARM,
        source="CloudWatch alarm",
        resource="shoplake-dev-web-5xx",
        dedupe_key=f"{key}:{n}",
        detail_type="CloudWatch Alarm State Change",
        thread=ThreadRef(key=key, state=state, phase=phase or phases.get(state, Phase.PROGRESS)),
    )


class Crash(BaseException):
    """The process dies here (no `except Exception` sees it)."""


@dataclass
class Posted:
    """One message as the fake Slack keeps it; `history` holds the versions `update` replaced."""

    channel: str
    ts: str
    message: SlackMessage
    thread_ts: str | None = None
    broadcast: bool = False
    metadata: dict[str, Any] | None = None
    history: list[SlackMessage] = field(default_factory=list)


class FakeSlack:
    """A bot-token Slack in memory: channel names answer with an id, threads, updates, metadata, deletion.

    `delay` seconds are slept inside each post (to make races); `crash_after_post` / `crash_before_post`
    raise `Crash` after / before the next post is recorded.
    """

    threads = True

    def __init__(self, *, delay: float = 0.0) -> None:
        self.messages: dict[str, Posted] = {}
        self.deleted: set[str] = set()
        self.delay = delay
        self.crash_after_post = False
        self.crash_before_post = False
        self.calls: list[str] = []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()

    def post(
        self,
        message: SlackMessage,
        channel: str,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Receipt:
        self.calls.append("post")
        if self.crash_before_post:
            self.crash_before_post = False
            raise Crash("before post")
        time.sleep(self.delay)
        if thread_ts is not None and thread_ts in self.deleted:
            raise MessageNotFound("thread_not_found")
        channel_id = CHANNEL_ID if channel.startswith("#") else channel
        with self._lock:
            ts = f"{1795000000 + next(self._ts)}.000100"
            self.messages[ts] = Posted(channel_id, ts, message, thread_ts, broadcast, metadata)
        if self.crash_after_post:
            self.crash_after_post = False
            raise Crash("after post")
        return Receipt(channel=channel_id, ts=ts, via="chat.postMessage")

    def update(self, message: SlackMessage, channel: str, ts: str) -> Receipt:
        self.calls.append("update")
        if ts in self.deleted or ts not in self.messages:
            raise MessageNotFound("message_not_found")
        posted = self.messages[ts]
        posted.history.append(posted.message)
        posted.message = message
        return Receipt(channel=channel, ts=ts, via="chat.update")

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        self.calls.append("replies")
        if ts in self.deleted or ts not in self.messages:
            raise MessageNotFound("thread_not_found")
        return [
            {"ts": m.ts, "text": m.message.text, "metadata": m.metadata}
            for m in self.messages.values()
            if ts in (m.ts, m.thread_ts)
        ]

    def history(self, channel: str, oldest: str) -> list[dict[str, Any]]:
        self.calls.append("history")
        channel_id = CHANNEL_ID if channel.startswith("#") else channel
        return [
            {"ts": m.ts, "text": m.message.text, "metadata": m.metadata}
            for m in reversed(self.messages.values())
            if m.channel == channel_id and m.thread_ts is None and m.ts not in self.deleted and m.ts > oldest
        ]

    def delete(self, ts: str) -> None:
        """Someone deleted the message in Slack."""
        self.deleted.add(ts)

    def parents(self) -> list[Posted]:
        """Top-level messages still there."""
        return [m for m in self.messages.values() if m.thread_ts is None and m.ts not in self.deleted]

    def thread(self, ts: str) -> list[Posted]:
        """The replies in the thread of `ts`, in order."""
        return [m for m in self.messages.values() if m.thread_ts == ts]


def atomic_items(monkeypatch: Any) -> None:
    """Make moto's DynamoDB apply each item request atomically, as DynamoDB does.

    moto checks a ConditionExpression and then writes, with nothing between two threads doing the same;
    DynamoDB serialises the writes to an item. A lock around each of moto's item operations restores that.
    """
    lock = threading.RLock()
    for name in ("put_item", "get_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def thread_table(dynamodb: Any, name: str = "shoplake-test-alert-threads") -> Any:
    """The thread table as the design fixes it (key `thread_key`, TTL `expires_at`), in moto."""
    table = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "thread_key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "thread_key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.meta.client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return table
