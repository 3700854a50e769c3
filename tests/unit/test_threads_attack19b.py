"""Issue 19 attacked by a stranger, part two: hostile strings in thread messages, forged and malformed presses,
the webhook-only installation's interactivity URL.

Each fault found is a failing test marked `xfail(strict=True)` with the fault as its reason; the tests without a
mark are attacks the code withstood. In-memory Slack and moto's DynamoDB (tests/thread_fakes.py), no servers.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from local_stack.slack_press import signed_headers
from shoplake.alerts import interactions
from shoplake.alerts.interactions import Press, Verification
from shoplake.alerts.model import Alert, Phase, ThreadRef
from shoplake.alerts.thread_render import render_parent, render_reply
from shoplake.alerts.thread_store import ThreadStore
from shoplake.alerts.threads import ACKNOWLEDGE, Person, Reply, on_alert, on_press
from tests.conftest import function_app, lambda_context
from tests.thread_fakes import (
    ALARM_KEY,
    CHANNEL_ID,
    HOSTILE,
    NOW,
    SECRET,
    T0,
    Clock,
    FakeSlack,
    alarm,
    engine,
)


def _at(alert: Alert, occurred_at: str) -> Alert:
    return dataclasses.replace(alert, occurred_at=occurred_at)


# ---------------------------------------------------------------- hostile strings


def test_bidi_controls_in_an_alarm_name_do_not_reach_the_notification_text() -> None:
    # GIVEN an alarm named with a right-to-left override
    opened = on_alert(None, alarm(title="ALARM: db-\u202egnp.exe"), T0).thread
    # WHEN its parent is rendered
    message = render_parent(opened)
    # THEN neither the fallback text nor the header carry the override
    assert "\u202e" not in message.text
    assert "\u202e" not in json.dumps(message.blocks[0], ensure_ascii=False)


def _mrkdwn_texts(message: Any) -> list[str]:
    texts = [message.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.blocks)
    return texts


def test_no_mention_or_link_can_be_injected_in_any_message_of_a_thread() -> None:
    # GIVEN an alert whose every outside string is hostile, and a presser whose id is no Slack id
    hostile = dataclasses.replace(
        alarm(title=f"ALARM: {HOSTILE}"),
        summary=HOSTILE,
        resource=HOSTILE,
        fields=((HOSTILE, HOSTILE),),
        thread=ThreadRef(ALARM_KEY, HOSTILE, Phase.OPEN),
    )
    first = on_alert(None, hostile, T0)
    second = on_alert(first.thread, dataclasses.replace(hostile, dedupe_key="x2"), T0 + 60)
    pressed = on_press(second.thread, ACKNOWLEDGE, Person("<!channel>", HOSTILE), T0 + 120)
    closed = on_alert(
        pressed.thread,
        dataclasses.replace(hostile, dedupe_key="x3", thread=ThreadRef(ALARM_KEY, HOSTILE, Phase.CLOSE)),
        T0 + 180,
    )
    messages = [render_parent(d.thread) for d in (first, second, pressed, closed)]
    messages += [
        render_reply(d.thread, a) for d in (second, pressed, closed) for a in d.actions if isinstance(a, Reply)
    ]
    # THEN no text Slack reads as mrkdwn holds a control sequence from outside (only our date tokens)
    for text in (t for m in messages for t in _mrkdwn_texts(m)):
        stripped = text
        while "<!date^" in stripped:
            start = stripped.index("<!date^")
            stripped = stripped[:start] + stripped[stripped.index(">", start) + 1 :]
        assert "<" not in stripped and ">" not in stripped, text


def test_a_ten_thousand_character_name_keeps_every_block_within_slacks_limits() -> None:
    # GIVEN an alert with a 10k-character title, summary, state and field
    long = "&" * 10_000
    huge = dataclasses.replace(
        alarm(title=long), summary=long, resource=long, fields=((long, long),),
        thread=ThreadRef(ALARM_KEY, long, Phase.OPEN),
    )  # fmt: skip
    first = on_alert(None, huge, T0)
    second = on_alert(first.thread, dataclasses.replace(huge, dedupe_key="x2"), T0 + 60)
    messages = [render_parent(second.thread)] + [
        render_reply(second.thread, a) for a in second.actions if isinstance(a, Reply)
    ]
    # THEN headers, sections and fields stay within Slack's limits, and no entity is cut in half
    for message in messages:
        assert len(message.blocks) <= 50
        for block in message.blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            for text in [block.get("text"), *list(block.get("fields") or []), *list(block.get("elements") or [])]:
                if isinstance(text, dict) and text.get("type") == "mrkdwn":
                    assert len(text["text"]) <= 3000
                    assert not text["text"].rstrip("…").endswith(("&am", "&a", "&"))


# ---------------------------------------------------------------- forged and malformed presses


def _answer(body: str | None, headers: dict[str, str], *, base64_encoded: bool = False) -> int:
    pressed: list[Press] = []
    answer, _ = interactions.answer(
        body, base64_encoded, headers, verification=Verification(SECRET, "T0LOCAL0001"),
        remember=lambda signature, expires: True, press=pressed.append, now=NOW,
    )  # fmt: skip
    return answer.status


def test_a_base64_flagged_body_of_non_ascii_text_is_refused_400() -> None:
    assert _answer("payload=é", {}, base64_encoded=True) == 400


def test_a_timestamp_of_thousands_of_digits_is_refused_401() -> None:
    body = urlencode({"payload": "{}"})
    assert _answer(body, signed_headers(SECRET, "9" * 5000, body)) == 401


@pytest.mark.parametrize("timestamp", [str(NOW - 301), str(NOW + 301), "-1", "1.5e9", " ", "١٧٩٦٠٢٩٦٠٠"], ids=repr)
def test_a_timestamp_that_is_old_future_or_not_ascii_digits_is_refused_401(timestamp: str) -> None:
    body = urlencode({"payload": "{}"})
    assert _answer(body, signed_headers(SECRET, timestamp, body)) == 401


class _KeyLimitedTable:
    """A boto3 Table whose get_item refuses a partition key over 2048 bytes, as DynamoDB answers GetItem
    (ValidationException "Size of hashkey has exceeded the maximum size limit of2048 bytes")."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def get_item(self, **kwargs: Any) -> Any:
        if len(kwargs["Key"]["thread_key"].encode()) > 2048:
            error = {
                "Code": "ValidationException",
                "Message": "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
                "size limit of2048 bytes",
            }
            raise ClientError({"Error": error}, "GetItem")
        return self._table.get_item(**kwargs)


def test_a_press_whose_value_is_five_kilobytes_is_an_unknown_thread(store: ThreadStore, clock: Clock) -> None:
    # GIVEN the thread table answering GetItem as DynamoDB does (moto checks the key's size on writes only)
    store.table = _KeyLimitedTable(store.table)
    # WHEN a signed press carries a 5 kB value (Slack allows a button's value 2000 characters; a forger more)
    result = engine(store, FakeSlack(), clock).press(
        action_id=ACKNOWLEDGE, thread_key="alarm:" + "x" * 5000, user_id="U0ALICE01", user_name="alice",
        channel_id=CHANNEL_ID, message_ts="1795000001.000100", now=clock.now,
    )  # fmt: skip
    assert (result.accepted, result.reason) == (False, "unknown thread")


# ---------------------------------------------------------------- the webhook-only installation


@pytest.fixture
def interactions_app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("ALERT_ROUTING", '{"default": "#shoplake-alerts"}')
    monkeypatch.setenv("SLACK_SECRET_NAME", "shoplake/dev/slack")
    monkeypatch.setenv("THREAD_TABLE_NAME", "shoplake-dev-alert-threads")
    module = function_app("slack_interactions")
    secret = {"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX"}
    monkeypatch.setattr(module.parameters, "get_secret", lambda *args, **kwargs: secret)
    return module


def test_the_interactivity_url_of_a_webhook_only_installation_refuses_without_crashing(
    interactions_app: ModuleType,
) -> None:
    body = urlencode({"payload": "{}"})
    event = {
        "version": "2.0", "rawPath": "/", "headers": signed_headers(SECRET, str(NOW), body), "isBase64Encoded": True,
        "body": base64.b64encode(body.encode()).decode(),
        "requestContext": {"http": {"method": "POST", "sourceIp": "192.0.2.1", "path": "/"}},
    }  # fmt: skip
    context = lambda_context("shoplake-dev-slack-interactions", timeout_s=3)
    answered = interactions_app.lambda_handler(event, context)
    assert 400 <= answered["statusCode"] < 500
