"""Threads through SlackSender against the local Slack: replies, broadcast, metadata, updates, deleted parents,
paging, retries; and button presses sent to an app as Slack signs them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from local_stack.slack_sink import SlackSink, api_error, rate_limited, server_error
from shoplake.alerts.delivery import (
    MessageNotFound,
    Receipt,
    SlackCredentials,
    SlackDeliveryError,
    SlackSender,
)
from shoplake.alerts.slack_blocks import SlackMessage

# The tests here start the local Slack (and an app's endpoint) on loopback (not in make unit).
pytestmark = pytest.mark.server

PARENT = SlackMessage(
    text="[Critical] ALARM: web-5xx", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "ALARM"}}]
)
REPLY = SlackMessage(text="fired again", blocks=[])
METADATA = {"event_type": "shoplake_alert", "event_payload": {"thread": "alarm:1:r:web-5xx", "action": "reply-2"}}


def _ts(receipt: Receipt) -> str:
    assert receipt.ts is not None
    return receipt.ts


def _bot(sink: SlackSink, remaining: float = 30.0) -> SlackSender:
    return SlackSender(
        SlackCredentials(bot_token="xoxb-test", api_base_url=sink.api_base_url), remaining=lambda: remaining
    )


def test_a_reply_lands_in_the_parents_thread_and_metadata_comes_back() -> None:
    with SlackSink() as sink:
        sender = _bot(sink)
        # GIVEN a parent posted by name
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        # WHEN a reply with metadata is posted to the channel ID the receipt gave
        reply = sender.post(REPLY, parent.channel, thread_ts=parent_ts, metadata=METADATA)
        # THEN both are in one thread, and replies() returns the parent then the reply, its metadata intact
        assert reply.channel == parent.channel == sink.channel_id("#shoplake-oncall")
        assert [m.ts for m in sink.thread("#shoplake-oncall", parent_ts)] == [parent_ts, reply.ts]
        thread = sender.replies(parent.channel, parent_ts)
        assert [m["ts"] for m in thread] == [parent_ts, reply.ts]
        assert thread[1]["metadata"] == METADATA
        assert (sink.calls[-1][0], sink.calls[-1][1]["include_all_metadata"]) == ("conversations.replies", "1")


def test_a_broadcast_reply_is_also_sent_to_the_channel() -> None:
    with SlackSink() as sink:
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        sender.post(
            SlackMessage(text="still firing after 30 min", blocks=[]),
            parent.channel,
            thread_ts=parent_ts,
            broadcast=True,
        )
        (_, loud) = sink.thread(parent.channel, parent_ts)
        assert loud.broadcast
        assert sender.replies(parent.channel, parent_ts)[1]["subtype"] == "thread_broadcast"
        assert "(also sent to the channel)" in sink.thread_text(parent.channel, parent_ts)


def test_update_changes_the_parent_in_place() -> None:
    with SlackSink() as sink:
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        receipt = sender.update(
            SlackMessage(text="[Critical] ALARM: web-5xx, acknowledged", blocks=[]), parent.channel, parent_ts
        )
        assert (receipt.channel, receipt.ts, receipt.via) == (parent.channel, parent_ts, "chat.update")
        (message,) = sink.messages
        assert (message.text, message.edited) == ("[Critical] ALARM: web-5xx, acknowledged", True)
        assert "(edited)" in sink.thread_text("#shoplake-oncall", parent_ts)


def test_a_parent_deleted_in_slack_is_message_not_found_for_update_and_replies() -> None:
    with SlackSink() as sink:
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        # GIVEN someone deleted the parent in Slack
        sink.delete("#shoplake-oncall", parent_ts)
        # THEN updating it or reading its thread raises MessageNotFound (a SlackDeliveryError)
        with pytest.raises(MessageNotFound, match="message_not_found"):
            sender.update(PARENT, parent.channel, parent_ts)
        with pytest.raises(MessageNotFound, match="thread_not_found"):
            sender.replies(parent.channel, parent_ts)


def test_other_update_errors_are_delivery_errors_not_message_not_found() -> None:
    with SlackSink() as sink:
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        sink.answer_next(api_error("cant_update_message"))
        with pytest.raises(SlackDeliveryError, match="cant_update_message") as raised:
            sender.update(PARENT, parent.channel, parent_ts)
        assert not isinstance(raised.value, MessageNotFound)


def test_replies_follow_every_page() -> None:
    with SlackSink() as sink:
        # GIVEN a thread of 11 replies, and a Slack that answers at most 4 messages a page
        sink.replies_page_size = 4
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        posted = [
            sender.post(SlackMessage(text=f"reply {n}", blocks=[]), parent.channel, thread_ts=parent_ts).ts
            for n in range(11)
        ]
        # WHEN the thread is read
        thread = sender.replies(parent.channel, parent_ts)
        # THEN every message once, oldest first, read in 3 requests
        assert [m["ts"] for m in thread] == [parent_ts, *posted]
        assert sum(1 for method, _ in sink.calls if method == "conversations.replies") == 3


def test_update_waits_out_a_rate_limit_then_updates() -> None:
    with SlackSink() as sink:
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        sink.answer_next(rate_limited(retry_after=1))
        started = time.monotonic()
        sender.update(REPLY, parent.channel, parent_ts)
        assert time.monotonic() - started >= 1.0
        assert sink.messages[0].text == REPLY.text


def test_replies_retry_a_server_error_mid_way_through_the_pages() -> None:
    with SlackSink() as sink:
        sink.replies_page_size = 2
        sender = _bot(sink)
        parent = sender.post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        for n in range(3):
            sender.post(SlackMessage(text=f"reply {n}", blocks=[]), parent.channel, thread_ts=parent_ts)
        # (two pages: the parent and a reply, then two replies; the first request answered 503)
        requests = sink.requests
        sink.answer_next(server_error(503))
        assert len(sender.replies(parent.channel, parent_ts)) == 4
        assert sink.requests == requests + 3  # the 503, then the two pages


def test_update_past_the_deadline_is_not_retried() -> None:
    with SlackSink() as sink:
        parent = _bot(sink).post(PARENT, "#shoplake-oncall")
        parent_ts = _ts(parent)
        sink.answer_next(rate_limited(retry_after=60))
        with pytest.raises(SlackDeliveryError, match="ratelimited"):
            _bot(sink, remaining=20).update(REPLY, parent.channel, parent_ts)


class _App:
    """An app's interactivity endpoint on loopback: verifies each request with slack_sdk and keeps it."""

    def __init__(self, signing_secret: str, on_press: Any = None) -> None:
        self.requests: list[tuple[dict[str, str], str, bool]] = []
        verifier = SignatureVerifier(signing_secret)
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                headers = dict(self.headers)
                valid = verifier.is_valid_request(body, headers)
                app.requests.append((headers, body, valid))
                if valid and on_press is not None:
                    on_press(json.loads(parse_qs(body)["payload"][0]))
                answer = b"" if valid else b"invalid signature"
                self.send_response(200 if valid else 401)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/slack/interactions"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    with SlackSink() as sink:
        yield sink


def _press(sink: SlackSink, url: str, ts: str, **overrides: Any) -> tuple[int, str]:
    arguments: dict[str, Any] = dict(
        action_id="shoplake_acknowledge", value="alarm:1:r:web-5xx", user_id="U0MINA", user_name="mina",
        channel="#shoplake-oncall", message_ts=ts, team_id=sink.team_id, signing_secret=sink.signing_secret,
    )  # fmt: skip
    return sink.press(url, **{**arguments, **overrides})


def test_a_press_reaches_the_app_signed_and_the_app_may_update_the_message_before_answering(slack: SlackSink) -> None:
    sender = SlackSender(SlackCredentials.from_secret(slack.secret()), remaining=lambda: 30.0)
    parent = sender.post(PARENT, "#shoplake-oncall")
    parent_ts = _ts(parent)
    # GIVEN an app that verifies the signature and updates the message while it answers
    app = _App(
        slack.signing_secret, lambda p: sender.update(REPLY, p["container"]["channel_id"], p["container"]["message_ts"])
    )
    try:
        # WHEN mina presses Acknowledge
        status, _ = _press(slack, app.url, parent_ts)
    finally:
        app.stop()
    # THEN the request verified, carried Slack's headers, and the app's update landed
    ((headers, body, valid),) = app.requests
    assert (status, valid) == (200, True)
    assert body.startswith("payload=") and headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert slack.messages[0].text == REPLY.text
    assert slack.presses[0].status == 200


def test_a_press_signed_with_another_secret_or_long_ago_is_refused_by_the_verifier(slack: SlackSink) -> None:
    parent = _bot(slack).post(PARENT, "#shoplake-oncall")
    parent_ts = _ts(parent)
    app = _App(slack.signing_secret)
    try:
        assert _press(slack, app.url, parent_ts, signing_secret="0" * 32)[0] == 401
        assert _press(slack, app.url, parent_ts, timestamp=time.time() - 6 * 60)[0] == 401
    finally:
        app.stop()


def test_a_replayed_press_is_byte_for_byte_the_first(slack: SlackSink) -> None:
    parent = _bot(slack).post(PARENT, "#shoplake-oncall")
    parent_ts = _ts(parent)
    app = _App(slack.signing_secret)
    try:
        _press(slack, app.url, parent_ts)
        first = slack.presses[0]
        _press(slack, app.url, parent_ts, timestamp=first.timestamp, body_override=first.body)
    finally:
        app.stop()
    (_, body1, _), (_, body2, _) = app.requests
    assert body1 == body2
    assert slack.presses[1].headers["X-Slack-Signature"] == first.headers["X-Slack-Signature"]


def test_an_app_slower_than_slacks_3_seconds_is_a_timeout(slack: SlackSink) -> None:
    parent = _bot(slack).post(PARENT, "#shoplake-oncall")
    app = _App(slack.signing_secret, lambda payload: time.sleep(3.5))
    try:
        with pytest.raises(TimeoutError, match="3 s"):
            _press(slack, app.url, _ts(parent))
    finally:
        app.stop()
