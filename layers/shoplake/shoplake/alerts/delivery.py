"""Post, update and read Slack messages with an incoming webhook or a bot token, within a deadline.

Rate limits (429) are honoured with their `Retry-After`; 5xx answers and connection errors are retried
with jittered backoff; no retry is started that would outlive the deadline (`slack_retry.retry_handlers`).
A final failure raises `SlackDeliveryError`, so Lambda's own retries and the dead-letter queue keep the alert.

Threads need a bot token: an incoming webhook can only post a message of its own to its own channel.

Slack's side: incoming webhooks (https://api.slack.com/messaging/webhooks), `chat.postMessage`
(https://docs.slack.dev/reference/methods/chat.postMessage: `thread_ts`, `reply_broadcast`, `metadata`),
`chat.update` (https://docs.slack.dev/reference/methods/chat.update), `conversations.replies`
(https://docs.slack.dev/reference/methods/conversations.replies, cursor-paginated), message metadata
(https://docs.slack.dev/messaging/message-metadata); the HTTP and retry machinery is slack_sdk's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from shoplake.alerts.slack_blocks import SlackMessage
from shoplake.alerts.slack_retry import RemainingSeconds, retry_handlers

__all__ = [
    "MessageNotFound",
    "Receipt",
    "RemainingSeconds",
    "SlackConfigError",
    "SlackCredentials",
    "SlackDeliveryError",
    "SlackSender",
    "retry_handlers",
]

# Slack's signing secrets are hexadecimal; workspace (team) IDs are `T` and upper-case letters and digits.
_SIGNING_SECRET = re.compile(r"[0-9a-fA-F]+")
_TEAM_ID = re.compile(r"T[A-Z0-9]+")
# conversations.replies page size: Slack recommends no more than 200 a page.
_REPLIES_PAGE = 200


class SlackDeliveryError(RuntimeError):
    """Slack did not accept the request after every retry the deadline allowed."""


class MessageNotFound(SlackDeliveryError):  # noqa: N818 - the name issue 19's design gives the engine
    """The message is gone: chat.update answered `message_not_found`, conversations.replies `thread_not_found`
    or `message_not_found` (someone deleted it in Slack, or it never was in that channel)."""


class SlackConfigError(ValueError):
    """The Slack secret is unusable (the message names the field), or asks for what it cannot do."""


@dataclass(frozen=True)
class SlackCredentials:
    """What the Slack secret holds: `webhook_url`, or `bot_token` (optionally `api_base_url`); and, for the
    interactivity endpoint, optional `signing_secret` and `team_id`.

    The secret is a JSON object in Secrets Manager; `api_base_url` (default `https://slack.com/api/`) lets
    the local stack point the Web API client at a stand-in. `signing_secret` is the Slack app's (Basic
    Information, App Credentials: hexadecimal); `team_id` is the workspace's ID (`T…`), the only team whose
    button presses are accepted when it is set.
    """

    webhook_url: str | None = None
    bot_token: str | None = None
    api_base_url: str | None = None
    signing_secret: str | None = None
    team_id: str | None = None

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> SlackCredentials:
        """Read the parsed secret; raises SlackConfigError naming the field when it is unusable.

        Unusable: not an object, both or neither of `webhook_url` and `bot_token`, a webhook URL that is not
        http(s), a token that does not start with `xox` (Slack's token prefixes: `xoxb-` for bots), a
        `signing_secret` that is not hexadecimal text, a `team_id` that is not `T` and [A-Z0-9].
        """
        if not isinstance(secret, Mapping):
            raise SlackConfigError("the Slack secret must be a JSON object with 'webhook_url' or 'bot_token'")
        webhook_url = secret.get("webhook_url") or None
        bot_token = secret.get("bot_token") or None
        signing_secret = secret.get("signing_secret") or None
        team_id = secret.get("team_id") or None
        if bool(webhook_url) == bool(bot_token):
            raise SlackConfigError("the Slack secret needs exactly one of 'webhook_url' or 'bot_token'")
        if webhook_url and not str(webhook_url).startswith(("https://", "http://")):
            raise SlackConfigError("field 'webhook_url': not a URL")
        if bot_token and not str(bot_token).startswith("xox"):
            raise SlackConfigError("field 'bot_token': not a Slack token (xoxb-…)")
        if signing_secret is not None and not (
            isinstance(signing_secret, str) and _SIGNING_SECRET.fullmatch(signing_secret)
        ):
            raise SlackConfigError("field 'signing_secret': not a Slack signing secret (hexadecimal text)")
        if team_id is not None and not (isinstance(team_id, str) and _TEAM_ID.fullmatch(team_id)):
            raise SlackConfigError("field 'team_id': not a Slack workspace ID (T…)")
        return cls(
            webhook_url=webhook_url,
            bot_token=bot_token,
            api_base_url=secret.get("api_base_url") or None,
            signing_secret=signing_secret,
            team_id=team_id,
        )


@dataclass(frozen=True)
class Receipt:
    """Where a message went.

    `channel`: the channel's ID as Slack answers it (`C…`; `"(webhook channel)"` through a webhook), Slack's
    message `ts` (None through a webhook), and `via`: `"webhook"`, `"chat.postMessage"` or `"chat.update"`.
    """

    channel: str
    ts: str | None
    via: str


class SlackSender:
    """Posts messages with an incoming webhook or a bot token, whichever `credentials` holds; with a bot token
    also updates them and reads threads.

    `remaining` gives the seconds left before the deadline; `request_timeout` is each HTTP request's
    timeout in seconds. Every call's retries follow `slack_retry.retry_handlers`.
    """

    def __init__(self, credentials: SlackCredentials, remaining: RemainingSeconds, request_timeout: int = 5) -> None:
        handlers = retry_handlers(remaining, request_timeout)
        self._webhook = (
            WebhookClient(credentials.webhook_url, timeout=request_timeout, retry_handlers=handlers)
            if credentials.webhook_url
            else None
        )
        self._web = (
            WebClient(
                token=credentials.bot_token,
                base_url=credentials.api_base_url or WebClient.BASE_URL,
                timeout=request_timeout,
                retry_handlers=handlers,
            )
            if credentials.bot_token
            else None
        )

    @property
    def threads(self) -> bool:
        """True when this sender can keep threads (a bot token); False for an incoming webhook."""
        return self._web is not None

    def post(
        self,
        message: SlackMessage,
        channel: str,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Receipt:
        """Post `message` to `channel` (a name `#x` or an ID); a webhook ignores `channel`: it posts where it
        was created.

        `thread_ts` makes it a reply in that parent's thread, `broadcast` also shows the reply in the channel
        (`reply_broadcast`), `metadata` is Slack message metadata (`{"event_type": str, "event_payload":
        dict}`); all three need a bot token (SlackConfigError through a webhook). Links are not unfurled.
        Raises SlackDeliveryError when Slack answers a webhook with anything but 200, `chat.postMessage`
        answers an error (`ok: false`: its `error` code is in the message), or Slack cannot be reached,
        after every retry the deadline allowed.
        """
        if self._webhook is not None:
            if thread_ts or broadcast or metadata:
                raise SlackConfigError("thread_ts, broadcast and metadata need a bot token, not an incoming webhook")
            with _failures("Slack webhook"):
                # An incoming webhook posts to the channel it was created for; routing needs a bot token.
                answer = self._webhook.send(text=message.text, blocks=message.blocks, unfurl_links=False)
            if answer.status_code != 200:
                raise SlackDeliveryError(f"Slack webhook answered {answer.status_code}: {answer.body}")
            return Receipt(channel="(webhook channel)", ts=None, via="webhook")
        web = self._bot("chat.postMessage")
        with _failures(f"Slack chat.postMessage to {channel}"):
            response = web.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                thread_ts=thread_ts,
                reply_broadcast=broadcast if thread_ts else None,
                metadata=metadata,
            )
        return Receipt(channel=response.get("channel") or channel, ts=response.get("ts"), via="chat.postMessage")

    def update(self, message: SlackMessage, channel: str, ts: str) -> Receipt:
        """Replace the text and blocks of message `ts` in `channel` (its ID, as a Receipt gives it) by `message`.

        Raises MessageNotFound when Slack answers `message_not_found` (the message was deleted);
        SlackDeliveryError for any other error or when Slack cannot be reached, after the retries;
        SlackConfigError through a webhook.
        """
        web = self._bot("chat.update")
        with _failures(f"Slack chat.update of {ts} in {channel}", not_found={"message_not_found"}):
            response = web.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
        return Receipt(channel=response.get("channel") or channel, ts=response.get("ts") or ts, via="chat.update")

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread of message `ts` in `channel`: the parent, then every reply, oldest first, as Slack's
        message objects (`ts`, `text`, `blocks`, `thread_ts`, `subtype`, and `metadata` when a message has it),
        every page of it.

        Raises MessageNotFound when Slack answers `thread_not_found` or `message_not_found` (the parent is
        gone); SlackDeliveryError for any other error or when Slack cannot be reached, after the retries;
        SlackConfigError through a webhook.
        """
        web = self._bot("conversations.replies")
        seen: dict[str, dict[str, Any]] = {}
        with _failures(
            f"Slack conversations.replies of {ts} in {channel}", not_found={"thread_not_found", "message_not_found"}
        ):
            pages = web.conversations_replies(channel=channel, ts=ts, include_all_metadata=True, limit=_REPLIES_PAGE)
            # slack_sdk follows response_metadata.next_cursor; a page may repeat the parent, so keep one of each ts.
            for page in pages:
                for message in page.get("messages") or []:
                    seen.setdefault(str(message.get("ts")), message)
        return list(seen.values())

    def history(self, channel: str, oldest: str) -> list[dict[str, Any]]:
        """The channel's messages newer than `oldest` (a Slack ts), newest first, with their `metadata`: one page
        of conversations.history, at most 200 (https://api.slack.com/methods/conversations.history).

        Slack wants the channel's ID here (a name answers `channel_not_found`). Raises MessageNotFound for
        `channel_not_found`, SlackDeliveryError for any other error after the retries; SlackConfigError through
        a webhook.
        """
        web = self._bot("conversations.history")
        with _failures(f"Slack conversations.history of {channel}", not_found={"channel_not_found"}):
            answer = web.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True, limit=200)
            return list(answer.get("messages") or [])

    def _bot(self, method: str) -> WebClient:
        if self._web is None:
            raise SlackConfigError(f"{method} needs a bot token; this Slack secret holds an incoming webhook")
        return self._web


@contextmanager
def _failures(what: str, not_found: frozenset[str] | set[str] = frozenset()) -> Iterator[None]:
    """Slack's final failures as SlackDeliveryError (MessageNotFound for the error codes in `not_found`)."""
    try:
        yield
    except SlackApiError as error:
        code = error.response.get("error")
        failed = MessageNotFound if code in not_found else SlackDeliveryError
        raise failed(f"{what} failed: {error.response.status_code} {code}") from error
    except (URLError, OSError) as error:
        raise SlackDeliveryError(f"Slack could not be reached: {error}") from error
