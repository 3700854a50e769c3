"""Stand-ins for the thread tests: an in-memory Slack with threads, alerts of one alarm, the thread table."""

from __future__ import annotations

import itertools
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local_stack.provision import REGION
from local_stack.slack_press import signed_headers
from shoplake.alerts.delivery import MessageNotFound, Receipt
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
from shoplake.alerts.routing import Routing
from shoplake.alerts.slack_blocks import SlackMessage
from shoplake.alerts.thread_engine import ThreadEngine
from shoplake.alerts.thread_store import ThreadStore
from shoplake.alerts.threads import Policy

ALARM_KEY = "alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx"
CHANNEL_ID = "C0ONCALL01"
T0 = 1_795_000_000.0  # 2026-11-18T10:13:20Z
MIN = 60.0
DAY = 86400.0
# Criticals to on-call, everything else to the alerts channel, both named (docs/alerting.md, "Routing").
ROUTING = Routing(default="#shoplake-alerts", by_severity={Severity.CRITICAL: "#shoplake-oncall"})
# An app's signing secret (hex, as Slack shows it) and a moment to press at (epoch seconds, 2026-12-01T07:06:40Z).
SECRET = "8f742231b10e8888abcd99fedcba85a5"
NOW = 1_796_029_600
# Every string from outside that could mention, link or reverse text, as an alarm name or a user name.
HOSTILE = "<!channel> <@U0BOSS0001> <!subteam^S0ADMINS|@admins> <http://evil.example|click> & ok > \u202etxt.exe"


class Clock:
    """A clock the test moves (epoch seconds, from T0); sleeping moves it too."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


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


@contextmanager
def memory_store() -> Iterator[ThreadStore]:
    """A ThreadStore over a fresh thread table in moto (inside its own `mock_aws`), keeping threads as Policy says."""
    with mock_aws():
        yield ThreadStore(thread_table(boto3.resource("dynamodb", region_name=REGION)), ttl_s=Policy().ttl_s)


def engine(store: ThreadStore, slack: Any, clock: Clock, **options: Any) -> ThreadEngine:
    """The thread engine with ROUTING, the default Policy, and `clock` for both its time and its sleeps."""
    return ThreadEngine(store, slack, ROUTING, Policy(), clock, sleep=clock.sleep, **options)


def post_signed(url: str, body: str, signing_secret: str, timestamp: int | None = None) -> tuple[int, str]:
    """POST the form `body` to `url` as Slack sends an interaction, signed at `timestamp` (default now).

    Returns the HTTP status and the answer's text, whatever the status. Unlike `slack_press.send` it waits
    30 s, not Slack's 3: these tests look at what is answered, not how fast.
    """
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = signed_headers(signing_secret, stamp, body)
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answered:
            return answered.status, answered.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
