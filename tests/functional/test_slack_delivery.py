"""Delivery against a local server that answers as Slack does, failures included."""

from __future__ import annotations

import time

import pytest

from local_stack.slack_sink import SlackSink, api_error, rate_limited, server_error, stall, webhook_gone
from shoplake.alerts.delivery import SlackConfigError, SlackCredentials, SlackDeliveryError, SlackSender
from shoplake.alerts.slack_blocks import SlackMessage

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server

MESSAGE = SlackMessage(
    text="[Critical] ALARM: x", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]
)


def _bot(sink: SlackSink, remaining: float = 30.0, timeout: int = 5) -> SlackSender:
    credentials = SlackCredentials(bot_token="xoxb-test", api_base_url=sink.api_base_url)
    return SlackSender(credentials, remaining=lambda: remaining, request_timeout=timeout)


def _webhook(sink: SlackSink, remaining: float = 30.0) -> SlackSender:
    return SlackSender(SlackCredentials(webhook_url=sink.webhook_url), remaining=lambda: remaining)


def test_bot_token_posts_to_the_routed_channel(sink: SlackSink) -> None:
    receipt = _bot(sink).post(MESSAGE, "#shoplake-oncall")
    # the receipt names the channel as Slack answers it: its ID
    assert receipt.channel == sink.channel_id("#shoplake-oncall")
    assert receipt.channel.startswith("C")
    assert receipt.ts
    (message,) = sink.messages
    assert (message.channel, message.text, message.blocks) == ("#shoplake-oncall", MESSAGE.text, MESSAGE.blocks)
    assert (message.channel_id, message.ts) == (receipt.channel, receipt.ts)


def test_webhook_posts_blocks_and_fallback(sink: SlackSink) -> None:
    _webhook(sink).post(MESSAGE, "#ignored")
    (message,) = sink.messages
    assert (message.via, message.text, message.blocks) == ("webhook", MESSAGE.text, MESSAGE.blocks)


def test_rate_limit_waits_for_retry_after_then_delivers(sink: SlackSink) -> None:
    # GIVEN Slack answers 429 with Retry-After: 1 once
    sink.answer_next(rate_limited(retry_after=1))
    # WHEN a message is posted
    started = time.monotonic()
    _bot(sink).post(MESSAGE, "#c")
    # THEN it waited at least the Retry-After, and delivered on the second request
    assert time.monotonic() - started >= 1.0
    assert sink.requests == 2
    assert len(sink.messages) == 1


def test_rate_limit_longer_than_the_time_left_fails_at_once(sink: SlackSink) -> None:
    sink.answer_next(rate_limited(retry_after=60))
    started = time.monotonic()
    with pytest.raises(SlackDeliveryError, match="ratelimited"):
        _bot(sink, remaining=20).post(MESSAGE, "#c")
    assert time.monotonic() - started < 5
    assert sink.requests == 1


def test_server_errors_are_retried_with_backoff(sink: SlackSink) -> None:
    sink.answer_next(server_error(500), server_error(503))
    _webhook(sink).post(MESSAGE, "#c")
    assert sink.requests == 3
    assert len(sink.messages) == 1


def test_persistent_server_error_raises_after_the_retries(sink: SlackSink) -> None:
    sink.answer_next(*[server_error(500)] * 4)
    with pytest.raises(SlackDeliveryError, match="500"):
        _webhook(sink).post(MESSAGE, "#c")
    assert sink.requests == 4
    assert sink.messages == []


@pytest.mark.parametrize("error", ["no_service", "channel_not_found"])
def test_webhook_gone_is_not_retried_and_raises(sink: SlackSink, error: str) -> None:
    sink.answer_next(webhook_gone(error))
    with pytest.raises(SlackDeliveryError, match=f"404: {error}"):
        _webhook(sink).post(MESSAGE, "#c")
    assert sink.requests == 1


def test_api_channel_not_found_raises_naming_the_channel(sink: SlackSink) -> None:
    sink.answer_next(api_error("channel_not_found"))
    with pytest.raises(SlackDeliveryError, match="#nowhere failed: 200 channel_not_found"):
        _bot(sink).post(MESSAGE, "#nowhere")


def test_a_stalled_request_times_out_and_is_retried(sink: SlackSink) -> None:
    # GIVEN Slack stalls longer than the request timeout once
    sink.answer_next(stall(3))
    # WHEN a message is posted with a 1 s request timeout
    _bot(sink, timeout=1).post(MESSAGE, "#c")
    # THEN the retry delivers it
    assert len(sink.messages) == 1


def test_no_retry_is_started_past_the_deadline(sink: SlackSink) -> None:
    sink.answer_next(server_error(500))
    with pytest.raises(SlackDeliveryError):
        _webhook(sink, remaining=1.0).post(MESSAGE, "#c")
    assert sink.requests == 1


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ({}, "exactly one of"),
        ({"webhook_url": "https://x", "bot_token": "xoxb-1"}, "exactly one of"),
        ({"webhook_url": "hooks.slack.com/x"}, "'webhook_url'"),
        ({"bot_token": "abc"}, "'bot_token'"),
    ],
)
def test_unusable_secret_names_the_field(secret: dict, message: str) -> None:
    with pytest.raises(SlackConfigError, match=message):
        SlackCredentials.from_secret(secret)
