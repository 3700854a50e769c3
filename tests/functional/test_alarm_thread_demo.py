"""One alarm's whole life in one Slack thread, through the local stack as the demo shows it.

It fires (SNS), EventBridge repeats the transition, the data stops, it fires again, someone presses Acknowledge
in Slack (a signed request to the interactivity function's URL), it recovers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack import demo_threads
from local_stack.demo import Demo, alerting
from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack

pytestmark = pytest.mark.server

KEY = "alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx"


@pytest.fixture
def demo(tmp_path) -> Iterator[Demo]:
    with SlackSink() as sink, LocalStack(slack_sink=sink, work_dir=tmp_path) as stack:
        yield Demo(stack, sink, dsn="postgresql://unused")


def test_an_alarm_lives_in_one_thread_acknowledged_from_slack(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    sink = demo.sink
    assert sink is not None
    alerting(demo)
    demo_threads.alarm_thread(demo)
    # THEN the alarm has one parent, edited in place, and every step is a reply in its thread
    parents = [
        m
        for m in sink.messages
        if m.thread_ts is None and (m.metadata or {}).get("event_payload", {}).get("thread") == KEY
    ]
    (parent,) = parents
    thread = sink.thread(parent.channel_id or "", parent.ts or "")
    replies = thread[1:]
    texts = [r.text for r in replies]
    assert any("INSUFFICIENT_DATA" in t for t in texts)
    assert sum("ALARM" in t and "resolved" not in t for t in texts) >= 1
    assert any("acknowledged by jane.kim" in t for t in texts)
    assert any("resolved" in t for t in texts)
    # the repeat ALARM told the channel too (nobody was on it yet); the rest stayed in the thread
    broadcast = [r for r in replies if r.broadcast]
    assert len(broadcast) == 1 and "ALARM" in broadcast[0].text
    # the parent, as it is now: resolved, acknowledged by the presser, no buttons left
    now = thread[0]
    assert now.edited
    shown = sink.thread_text(parent.channel_id or "", parent.ts or "")
    assert "Resolved" in shown and "<@U0LOCALJANE>" in str(now.blocks)
    assert not any(b.get("type") == "actions" for b in now.blocks)
    # AND the press reached the app as Slack sends it, and was answered 200
    (press,) = sink.presses
    assert press.status == 200
    printed = capsys.readouterr().out
    assert "jane.kim presses Acknowledge" in printed
