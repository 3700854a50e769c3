"""The demo's Slack: each happening's thread printed as a person sees it, and one alarm's whole life.

An alarm fires, loses its data, fires again; someone presses Acknowledge in Slack (the local Slack sends the
signed interaction to the interactivity function's URL, as Slack does); it recovers. The thread is printed
after each step. With a real Slack (no local sink) the events are still sent; the buttons are for people.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from local_stack.slack_sink import SinkMessage, SlackSink, as_text
from local_stack.template import ROOT

if TYPE_CHECKING:
    from local_stack.demo import Demo

ALARM_STEPS = (
    ("the data stops: the alarm has insufficient data (a reply in its thread)", "sns_alarm_web_5xx_insufficient_data"),
    ("it fires again: the thread says so, and tells the channel too, since nobody is on it", "sns_alarm_web_5xx_again"),
)
RECOVERY = ("the load balancer recovers: the parent turns resolved, with how long it lasted", "sns_alarm_web_5xx_ok")
ON_CALL = ("U0LOCALJANE", "jane.kim")  # the person pressing the button: a Slack user id and handle


def _parent(message: SinkMessage) -> tuple[str, str] | None:
    """(channel id, parent ts) of the thread `message` belongs to; None for a webhook's message."""
    if message.channel_id is None or message.ts is None:
        return None
    return message.channel_id, message.thread_ts or message.ts


def print_since(sink: SlackSink, since: int) -> int:
    """Print what Slack received since message number `since`: each thread it touched, whole, as it is now.

    Returns how many messages Slack holds now (the next `since`).
    """
    messages = sink.messages
    shown: list[tuple[str, str]] = []
    for message in messages[since:]:
        parent = _parent(message)
        if parent is None:
            print("\n".join("    " + line for line in as_text(message).splitlines()))
        elif parent not in shown:
            shown.append(parent)
    for channel, ts in shown:
        print("\n".join("    " + line for line in sink.thread_text(channel, ts).splitlines()))
    return len(messages)


def _thread_parent(sink: SlackSink, key: str) -> SinkMessage:
    """The newest parent message of thread `key` (its metadata names the thread)."""
    parents = [
        m
        for m in sink.messages
        if m.thread_ts is None and ((m.metadata or {}).get("event_payload") or {}).get("thread") == key
    ]
    if not parents:
        raise LookupError(f"no thread {key} in the local Slack")
    return parents[-1]


def _button(message: SinkMessage, action_id: str) -> dict[str, Any]:
    for block in message.blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element)
    raise LookupError(f"the message has no button {action_id}")


def _publish(demo: Demo, name: str) -> None:
    event = json.loads((ROOT / "events" / "slack_notifier" / f"{name}.json").read_text(encoding="utf-8"))
    sns = event["Records"][0]["Sns"]
    demo.stack.client("sns").publish(
        TopicArn=demo.stack.output("AlertTopicArn"), Message=sns["Message"], Subject=sns["Subject"][:100]
    )
    demo.stack.deliver_pending()


def alarm_thread(demo: Demo) -> None:
    """The stage: shoplake-dev-web-5xx (fired in the alerting stage) lives out its life in one thread."""
    alarm = json.loads(
        json.loads((ROOT / "events/slack_notifier/sns_alarm_web_5xx.json").read_text(encoding="utf-8"))["Records"][0][
            "Sns"
        ]["Message"]
    )
    key = f"alarm:{alarm['AWSAccountId']}:ap-northeast-2:{alarm['AlarmName']}"
    for say, name in ALARM_STEPS:
        demo.say(say)
        _publish(demo, name)
    sink = demo.sink
    if sink is not None:
        parent = _thread_parent(sink, key)
        button = _button(parent, "shoplake_acknowledge")
        user_id, user_name = ON_CALL
        demo.say(f"{user_name} presses Acknowledge in Slack: the local Slack posts the signed press to the app's URL")
        assert demo.stack.slack_signing_secret is not None and demo.stack.slack_team_id is not None
        status, _ = sink.press(
            demo.stack.function_url("SlackInteractionsFunction"),
            action_id=button["action_id"],
            value=button["value"],
            user_id=user_id,
            user_name=user_name,
            channel=parent.channel_id or "",
            message_ts=parent.ts or "",
            team_id=demo.stack.slack_team_id,
            signing_secret=demo.stack.slack_signing_secret,
        )
        demo.say(f"the app answered {status} within Slack's 3 seconds and updated the parent")
    demo.say(RECOVERY[0])
    _publish(demo, RECOVERY[1])
    if sink is not None:
        parent = _thread_parent(sink, key)
        demo.say("the alarm's thread, as the on-call channel sees it now:")
        print(
            "\n".join("    " + line for line in sink.thread_text(parent.channel_id or "", parent.ts or "").splitlines())
        )
