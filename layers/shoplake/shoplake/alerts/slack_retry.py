"""slack_sdk retry handlers for a call to Slack that must finish before a deadline.

Rate limits (429) are honoured with their `Retry-After`; 5xx answers and connection errors are retried
with jittered backoff; no retry is started that would outlive the deadline (the Lambda function's
remaining time). Slack's rate limits: 429 with `Retry-After` in seconds (https://api.slack.com/apis/rate-limits).
"""

from __future__ import annotations

from collections.abc import Callable
from http.client import RemoteDisconnected
from urllib.error import URLError

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

# Seconds the invocation has left, e.g. `lambda: context.get_remaining_time_in_millis() / 1000`.
RemainingSeconds = Callable[[], float]


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
