"""Issue 19 attacked end to end: the notifier and the interactivity URL on the local stack, the local Slack.

Each fault found is a failing test marked `xfail(strict=True)` with the fault as its reason; the tests without a
mark are attacks the stack withstood.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from local_stack.functions import LocalFunction
from local_stack.slack_sink import SlackSink, rate_limited, server_error
from local_stack.stack import LocalStack
from tests.conftest import our_event
from tests.thread_fakes import post_signed

pytestmark = pytest.mark.server

FUNCTION = "SlackInteractionsFunction"
HOSTILE = "<!channel> <@U0BOSS0001> <!subteam^S0ADMINS|@admins> <http://evil.example|x> & >"


@pytest.fixture
def notifier(stack: LocalStack) -> LocalFunction:
    return stack.functions["SlackNotifierFunction"]


def _alarm(state: str, timestamp: str, *, region: str = "ap-northeast-2", name: str = "") -> dict[str, Any]:
    event = copy.deepcopy(our_event("slack_notifier/eventbridge_alarm_web_5xx.json"))
    event["region"] = region
    event["resources"] = [r.replace("ap-northeast-2", region) for r in event["resources"]]
    if name:
        event["detail"]["alarmName"] = name
        event["resources"] = [r.rsplit(":", 1)[0] + ":" + name for r in event["resources"]]
        event["detail"]["configuration"]["description"] = name
    event["detail"]["state"].update(value=state, timestamp=timestamp)
    return event


def _press_payload(value: str, ts: str = "1796029541.000100", channel: str = "C0LOCAL0001") -> str:
    return json.dumps(
        {
            "type": "block_actions",
            "user": {"id": "U0LOCAL0042", "username": "jane.kim", "team_id": "T0LOCAL0001"},
            "team": {"id": "T0LOCAL0001"},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "actions": [{"action_id": "shoplake_acknowledge", "type": "button", "value": value}],
        }
    )


def _mrkdwn(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in _mrkdwn(value)]
    if isinstance(node, list):
        return [t for value in node for t in _mrkdwn(value)]
    return []


def _parents(sink: SlackSink) -> list[Any]:
    return [m for m in sink.messages if m.thread_ts is None and not m.deleted]


def test_a_hostile_alarm_name_injects_nothing_in_any_message_of_its_thread(
    notifier: LocalFunction, sink: SlackSink
) -> None:
    # GIVEN an alarm named and described with Slack's control sequences, which fires, fires again and recovers
    notifier.invoke(_alarm("ALARM", "2026-11-24T17:05:12.431+0000", name=HOSTILE))
    notifier.invoke(_alarm("ALARM", "2026-11-24T17:15:12.431+0000", name=HOSTILE))
    notifier.invoke(_alarm("OK", "2026-11-24T17:25:12.431+0000", name=HOSTILE))
    # THEN one parent, and no text Slack reads as mrkdwn (the fallback, sections, fields, context) in any message
    # or earlier version of one holds a raw mention or link from the name (plain_text headers are shown literally)
    assert len(_parents(sink)) == 1
    for message in sink.messages:
        for version in (*message.history, message):
            shown = " ".join(_mrkdwn(version.blocks)) + version.text
            for raw in ("<!channel>", "<@U0BOSS0001>", "<!subteam", "<http://evil"):
                assert raw not in shown


def test_two_alarms_of_one_name_in_two_regions_at_the_same_moment_get_two_threads(
    notifier: LocalFunction, sink: SlackSink
) -> None:
    notifier.invoke(_alarm("ALARM", "2026-11-24T17:05:12.431+0000", region="ap-northeast-2"))
    notifier.invoke(_alarm("ALARM", "2026-11-24T17:05:12.431+0000", region="us-east-1"))
    assert len(_parents(sink)) == 2


def test_an_alarm_arriving_after_its_later_ok_leaves_no_open_parent(notifier: LocalFunction, sink: SlackSink) -> None:
    # GIVEN the OK of 17:25 delivered before the ALARM of 17:05 it ended
    notifier.invoke(_alarm("OK", "2026-11-24T17:25:12.431+0000"))
    notifier.invoke(_alarm("ALARM", "2026-11-24T17:05:12.431+0000"))
    # THEN no parent in the channel still says the alarm is open
    assert all("(open," not in m.text for m in _parents(sink))


def test_a_reply_refused_with_429_and_500_is_posted_once_by_the_retry(notifier: LocalFunction, sink: SlackSink) -> None:
    # GIVEN an alarm's thread
    notifier.invoke(_alarm("ALARM", "2026-11-24T17:05:12.431+0000"))
    # WHEN its repeat meets a rate limit and then server errors on every attempt, and Lambda retries
    sink.answer_next(rate_limited(1), *[server_error(503)] * 6)
    repeat = _alarm("ALARM", "2026-11-24T17:15:12.431+0000")
    with pytest.raises(Exception):  # noqa: B017 - whatever Slack's failure, the invocation fails for Lambda
        notifier.invoke(repeat)
    sink.answer_next()
    notifier.invoke(repeat)
    # THEN one parent, and the repeat's reply in its thread exactly once
    (parent,) = _parents(sink)
    replies = [m for m in sink.messages if m.thread_ts == parent.ts]
    assert len(replies) == 1


@pytest.mark.parametrize(
    "body",
    ["payload=[1,2]", "payload=%22text%22", "not a form at all", "payload=" + "%7B" * 10, '{"type":"block_actions"}'],
    ids=["array", "string", "no-form", "broken-json", "raw-json"],
)
def test_a_signed_body_that_is_no_interaction_is_answered_400(stack: LocalStack, body: str) -> None:
    assert stack.slack_signing_secret is not None
    status, _ = post_signed(stack.function_url(FUNCTION), body, stack.slack_signing_secret)
    assert status == 400


def test_a_press_on_a_key_that_is_no_thread_is_answered_200_and_changes_nothing(
    stack: LocalStack, sink: SlackSink
) -> None:
    assert stack.slack_signing_secret is not None
    body = urlencode({"payload": _press_payload("alarm:999999999999:eu-west-1:nothing")})
    assert post_signed(stack.function_url(FUNCTION), body, stack.slack_signing_secret) == (200, "")
    assert sink.messages == []


def test_the_interactivity_url_of_a_webhook_only_installation_refuses_apost_signed(
    sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN a stack whose Slack secret holds only an incoming webhook (no threads, no buttons)
    with LocalStack(slack_secret={"webhook_url": sink.webhook_url}, server=False, work_dir=tmp_path) as webhook_only:
        # WHEN someone posts a signed-looking press to the interactivity URL
        body = urlencode({"payload": _press_payload("alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx")})
        status, _ = post_signed(webhook_only.function_url(FUNCTION), body, "00" * 16)
    # THEN it is refused, not a server error
    assert 400 <= status < 500
