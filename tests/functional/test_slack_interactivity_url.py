"""Slack's button presses over real HTTP to the interactivity function's URL, served on loopback as Lambda serves it.

The request goes as Slack sends it (a signed form POST); the local function URL makes it the payload 2.0 event,
checks the function's resource policy as Lambda does for AuthType NONE, and runs the function as its own role.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from local_stack.slack_sink import SlackSink
from local_stack.stack import LOCAL_SLACK_TEAM_ID, LocalStack
from shoplake.alerts.delivery import SlackCredentials, SlackSender
from shoplake.alerts.model import Alert, Category, Phase, Severity, ThreadRef
from shoplake.alerts.routing import Routing
from tests.thread_fakes import post_signed

pytestmark = pytest.mark.server

FUNCTION = "SlackInteractionsFunction"
PAYLOAD = (
    '{"type":"block_actions","user":{"id":"U0LOCAL0042","username":"jane.kim","team_id":"T0LOCAL0001"},'
    '"team":{"id":"T0LOCAL0001"},"container":{"type":"message","message_ts":"1796029541.000100",'
    '"channel_id":"C0LOCAL0001"},"actions":[{"action_id":"shoplake_acknowledge","type":"button",'
    '"value":"alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx"}]}'
)


def test_the_local_slack_secret_carries_a_signing_secret_and_the_workspace(stack: LocalStack) -> None:
    assert stack.slack_signing_secret and len(stack.slack_signing_secret) >= 32
    assert stack.slack_team_id == LOCAL_SLACK_TEAM_ID
    # AND the stack's output names the function's URL, which the local URL serves
    assert stack.output("SlackInteractivityUrl").startswith("https://shoplake-dev-slack-interactions.lambda-url.")
    assert stack.function_url(FUNCTION).startswith("http://127.0.0.1:")


def test_a_forged_or_old_press_over_http_is_refused_401(stack: LocalStack) -> None:
    # GIVEN the interactivity function's URL, and a press as Slack sends it
    url = stack.function_url(FUNCTION)
    body = urlencode({"payload": PAYLOAD})
    assert stack.slack_signing_secret is not None
    # WHEN it is signed with a guessed secret, or with the right one 10 minutes ago
    forged = post_signed(url, body, "a-guess-at-the-secret")
    old = post_signed(url, body, stack.slack_signing_secret, timestamp=int(time.time()) - 600)
    # THEN both are refused before anything is done, and the reason is in the function's log
    assert forged[0] == 401 and "does not match" in forged[1]
    assert old[0] == 401 and "300 s" in old[1]
    log = (stack.work_dir / "logs" / "shoplake-dev-slack-interactions.log").read_text(encoding="utf-8")
    assert "Slack interaction refused" in log


def test_a_method_other_than_post_is_answered_405(stack: LocalStack) -> None:
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(stack.function_url(FUNCTION), timeout=30)
    assert answered.value.code == 405


@pytest.mark.skipif(
    importlib.util.find_spec("shoplake.alerts.thread_engine") is None, reason="the thread engine (issue 19) is not here"
)
def test_a_signed_press_is_answered_200_once_and_its_replay_refused(stack: LocalStack) -> None:
    # GIVEN a press as Slack sends it, signed now with the app's signing secret, for a thread the stack never opened
    url = stack.function_url(FUNCTION)
    body = urlencode({"payload": PAYLOAD})
    assert stack.slack_signing_secret is not None
    stamp = int(time.time())
    # WHEN it is posted, then posted again unchanged
    first = post_signed(url, body, stack.slack_signing_secret, timestamp=stamp)
    second = post_signed(url, body, stack.slack_signing_secret, timestamp=stamp)
    # THEN the first is acknowledged with an empty 200 (the engine finds no such thread: nothing to update),
    # and the replay refused: its signature was remembered in the thread table, as the function's role
    assert first == (200, "")
    assert second[0] == 401 and "replay" in second[1]
    table = stack.output("AlertThreadTableName")
    items = stack.client("dynamodb").scan(TableName=table)["Items"]
    assert [i["thread_key"]["S"].split("#", 1)[0] for i in items] == ["slack-request"]


@pytest.mark.skipif(
    importlib.util.find_spec("shoplake.alerts.thread_engine") is None or not hasattr(SlackSink, "press"),
    reason="the thread engine and the local Slack's press (issue 19) are not both here",
)
def test_acknowledge_pressed_in_the_local_slack_shows_on_the_thread_parent(stack: LocalStack, sink: SlackSink) -> None:
    # GIVEN an alarm's thread opened in the local Slack (by the engine, as the notifier opens it)
    engine_module: Any = importlib.import_module("shoplake.alerts.thread_engine")
    store_module: Any = importlib.import_module("shoplake.alerts.thread_store")
    threads_module: Any = importlib.import_module("shoplake.alerts.threads")
    key = "alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx"
    alert = Alert(
        title="ALARM: shoplake-dev-web-5xx", summary="5xx above 1%.", severity=Severity.CRITICAL,
        category=Category.ALARM, source="CloudWatch alarm", resource="shoplake-dev-web-5xx",
        dedupe_key=f"{key}:1", detail_type="CloudWatch Alarm State Change",
        thread=ThreadRef(key=key, state="ALARM", phase=Phase.OPEN),
    )  # fmt: skip
    table = stack.session.resource("dynamodb").Table(stack.output("AlertThreadTableName"))
    sender = SlackSender(SlackCredentials.from_secret(json.loads(_secret(stack))), remaining=lambda: 10.0)
    routing = Routing.from_json(stack.stack.properties[FUNCTION]["Environment"]["Variables"]["ALERT_ROUTING"])
    policy = threads_module.Policy()
    engine = engine_module.ThreadEngine(
        store_module.ThreadStore(table, ttl_s=policy.ttl_s), sender, routing, policy, time.time
    )
    opened = engine.deliver(alert)
    assert stack.slack_signing_secret is not None and stack.slack_team_id is not None
    # WHEN someone presses Acknowledge on its parent, Slack posting the press to the interactivity URL
    local_slack: Any = sink
    status, body = local_slack.press(
        stack.function_url(FUNCTION), action_id="shoplake_acknowledge", value=key, user_id="U0LOCAL0042",
        user_name="jane.kim", channel=opened["channel"], message_ts=opened["ts"], team_id=stack.slack_team_id,
        signing_secret=stack.slack_signing_secret,
    )  # fmt: skip
    # THEN Slack gets its empty 200, and the parent shows who acknowledged it
    assert (status, body) == (200, "")
    assert "Acknowledged* by <@U0LOCAL0042>" in local_slack.thread_text(opened["channel"], opened["ts"])


def _secret(stack: LocalStack) -> str:
    name = stack.stack.resolver.parameters["SlackSecretName"]
    return str(stack.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
