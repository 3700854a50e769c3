"""The Slack secret's fields for threads and interactivity, and what a webhook sender refuses (no network)."""

from __future__ import annotations

import pytest

from shoplake.alerts.delivery import SlackConfigError, SlackCredentials, SlackSender
from shoplake.alerts.slack_blocks import SlackMessage

MESSAGE = SlackMessage(text="x", blocks=[])
# Slack signing secrets are 32 hexadecimal characters.
SIGNING_SECRET = "8f742231b10e8888abcd9900aa1185a5"


def test_a_bot_secret_with_signing_secret_and_team_is_read() -> None:
    credentials = SlackCredentials.from_secret(
        {"bot_token": "xoxb-1", "signing_secret": SIGNING_SECRET, "team_id": "T024BE7LD"}
    )
    assert (credentials.signing_secret, credentials.team_id) == (SIGNING_SECRET, "T024BE7LD")


def test_signing_secret_and_team_are_optional() -> None:
    credentials = SlackCredentials.from_secret({"webhook_url": "https://hooks.slack.com/services/T/B/x"})
    assert (credentials.signing_secret, credentials.team_id) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("signing_secret", "not-hex secret"),
        ("signing_secret", 1234),
        ("signing_secret", "8f74 2231"),
        ("team_id", "t024be7ld"),
        ("team_id", "U024BE7LD"),
        ("team_id", "T"),
        ("team_id", "T024BE7LD\n"),
        ("team_id", ["T024BE7LD"]),
    ],
)
def test_an_unusable_signing_secret_or_team_names_the_field(field: str, value: object) -> None:
    with pytest.raises(SlackConfigError, match=f"'{field}'"):
        SlackCredentials.from_secret({"bot_token": "xoxb-1", field: value})


def test_a_bot_token_keeps_threads_and_a_webhook_does_not() -> None:
    bot = SlackSender(SlackCredentials(bot_token="xoxb-1"), remaining=lambda: 30.0)
    webhook = SlackSender(SlackCredentials(webhook_url="https://hooks.slack.com/x"), remaining=lambda: 30.0)
    assert (bot.threads, webhook.threads) == (True, False)


def test_a_webhook_sender_refuses_what_needs_a_bot_token_before_any_request() -> None:
    # GIVEN a sender holding an incoming webhook (sockets are off in make unit: a request would fail otherwise)
    webhook = SlackSender(SlackCredentials(webhook_url="https://hooks.slack.com/x"), remaining=lambda: 30.0)
    # THEN updating, reading a thread or replying in one says a bot token is needed
    with pytest.raises(SlackConfigError, match=r"chat\.update needs a bot token"):
        webhook.update(MESSAGE, "C0123456789", "1700000000.000100")
    with pytest.raises(SlackConfigError, match=r"conversations\.replies needs a bot token"):
        webhook.replies("C0123456789", "1700000000.000100")
    with pytest.raises(SlackConfigError, match="need a bot token"):
        webhook.post(MESSAGE, "#c", thread_ts="1700000000.000100")
    with pytest.raises(SlackConfigError, match="need a bot token"):
        webhook.post(MESSAGE, "#c", metadata={"event_type": "shoplake_alert", "event_payload": {}})
