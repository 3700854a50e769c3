"""Post messages to Slack with an incoming webhook or a bot token, within a deadline.

Rate limits (429) are honoured with their `Retry-After`; 5xx answers and connection
errors are retried with jittered backoff. No retry is started that would outlive the
deadline (the Lambda function's remaining time). A final failure raises
`SlackDeliveryError`, so Lambda's own retries and the dead-letter queue keep the alert.

Slack's side: incoming webhooks (https://api.slack.com/messaging/webhooks), `chat.postMessage`
(https://api.slack.com/methods/chat.postMessage) and rate limits, 429 with `Retry-After` in seconds
(https://api.slack.com/apis/rate-limits); the HTTP and retry machinery is slack_sdk's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import RandomJitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from shoplake.alerts.slack_blocks import SlackMessage

# Seconds the invocation has left, e.g. `lambda: context.get_remaining_time_in_millis() / 1000`.
RemainingSeconds = Callable[[], float]


class SlackDeliveryError(RuntimeError):
    """Slack did not accept the message after every retry the deadline allowed."""


class SlackConfigError(ValueError):
    """The Slack secret is unusable; the message names the field."""


@dataclass(frozen=True)
class SlackCredentials:
    """What the Slack secret holds: `webhook_url`, or `bot_token` (optionally `api_base_url`).

    The secret is a JSON object in Secrets Manager; `api_base_url` (default `https://slack.com/api/`) lets
    the local stack point the Web API client at a stand-in.
    """

    webhook_url: str | None = None
    bot_token: str | None = None
    api_base_url: str | None = None

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> SlackCredentials:
        """Read the parsed secret; raises SlackConfigError naming the field when it is unusable.

        Unusable: not an object, both or neither of `webhook_url` and `bot_token`, a webhook URL that is not
        http(s), or a token that does not start with `xox` (Slack's token prefixes: `xoxb-` for bots).
        """
        if not isinstance(secret, Mapping):
            raise SlackConfigError("the Slack secret must be a JSON object with 'webhook_url' or 'bot_token'")
        webhook_url = secret.get("webhook_url") or None
        bot_token = secret.get("bot_token") or None
        if bool(webhook_url) == bool(bot_token):
            raise SlackConfigError("the Slack secret needs exactly one of 'webhook_url' or 'bot_token'")
        if webhook_url and not str(webhook_url).startswith(("https://", "http://")):
            raise SlackConfigError("field 'webhook_url': not a URL")
        if bot_token and not str(bot_token).startswith("xox"):
            raise SlackConfigError("field 'bot_token': not a Slack token (xoxb-…)")
        return cls(webhook_url=webhook_url, bot_token=bot_token, api_base_url=secret.get("api_base_url") or None)


@dataclass(frozen=True)
class Receipt:
    """Where a message went.

    `channel` as posted to (`"(webhook channel)"` through a webhook), Slack's message `ts` (None through a
    webhook), and `via`: `"webhook"` or `"chat.postMessage"`.
    """

    channel: str
    ts: str | None
    via: str


class _WithinDeadline(RetryHandler):
    """Refuses any retry whose wait plus one more request would pass the deadline."""

    def __init__(self, inner: RetryHandler, remaining: RemainingSeconds, request_timeout: float) -> None:
        super().__init__(max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator)
        self.inner = inner
        self.remaining = remaining
        self.request_timeout = request_timeout

    def _wait(self, state: RetryState, response: HttpResponse | None) -> float:
        if response is not None and response.status_code == 429:
            for name, values in response.headers.items():
                if name.lower() == "retry-after" and values:
                    return float(values[0]) + 1
            return 2.0
        return self.interval_calculator.calculate_sleep_duration(state.current_attempt)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not self.inner._can_retry(state=state, request=request, response=response, error=error):
            return False
        return self._wait(state, response) + self.request_timeout < self.remaining()

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self.inner.prepare_for_next_attempt(state=state, request=request, response=response, error=error)


class _AnyServerError(ServerErrorRetryHandler):
    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


def retry_handlers(remaining: RemainingSeconds, request_timeout: float, attempts: int = 3) -> list[RetryHandler]:
    """slack_sdk retry handlers: 429, any 5xx, and connection errors, each at most `attempts` retries.

    A 429 waits `Retry-After` seconds plus under 1 s of jitter (1-2 s without the header); 5xx answers and
    connection errors (URLError, reset, disconnect, timeout) wait 0.5 * 2**n s plus under 1 s of jitter.
    Every handler refuses a retry whose estimated wait plus one `request_timeout` (seconds) would not fit
    in `remaining()` seconds.
    """
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5, jitter=RandomJitter())
    inner: list[RetryHandler] = [
        RateLimitErrorRetryHandler(max_retry_count=attempts),
        _AnyServerError(max_retry_count=attempts, interval_calculator=backoff),
        ConnectionErrorRetryHandler(
            max_retry_count=attempts,
            interval_calculator=backoff,
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
    ]
    return [_WithinDeadline(handler, remaining, request_timeout) for handler in inner]


class SlackSender:
    """Posts messages with an incoming webhook or a bot token, whichever `credentials` holds.

    `remaining` gives the seconds left before the deadline; `request_timeout` is each HTTP request's
    timeout in seconds. Retries follow `retry_handlers`.
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

    def post(self, message: SlackMessage, channel: str) -> Receipt:
        """Post `message` to `channel` (a webhook ignores `channel`: it posts where it was created).

        Links are not unfurled. Raises SlackDeliveryError when Slack answers a webhook with anything but 200,
        `chat.postMessage` answers an error (`ok: false`: its `error` code is in the message), or Slack
        cannot be reached, after every retry the deadline allowed.
        """
        try:
            if self._webhook is not None:
                # An incoming webhook posts to the channel it was created for; routing needs a bot token.
                answer = self._webhook.send(text=message.text, blocks=message.blocks, unfurl_links=False)
                if answer.status_code != 200:
                    raise SlackDeliveryError(f"Slack webhook answered {answer.status_code}: {answer.body}")
                return Receipt(channel="(webhook channel)", ts=None, via="webhook")
            assert self._web is not None
            response = self._web.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks, unfurl_links=False
            )
            return Receipt(channel=channel, ts=response.get("ts"), via="chat.postMessage")
        except SlackApiError as error:
            raise SlackDeliveryError(
                f"Slack chat.postMessage to {channel} failed: {error.response.status_code} "
                f"{error.response.get('error')}"
            ) from error
        except (URLError, OSError) as error:
            raise SlackDeliveryError(f"Slack could not be reached: {error}") from error
