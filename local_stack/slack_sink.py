"""A local Slack: answers incoming webhooks and the Web API methods shoplake calls, as Slack does.

It keeps every message it accepts (local_stack/slack_workspace.py: channels with stable IDs, threads,
broadcast replies, message metadata, updates and deletions), shows them as a person would
(local_stack/slack_render.py), sends button presses to an app as Slack signs them
(local_stack/slack_press.py), and can be told to answer the next requests, to any method, with Slack's
failure answers (429 with Retry-After, 5xx, 404 `channel_not_found`, a stall), so that delivery is
tested against the protocol rather than against a mock.

Web API methods served: `chat.postMessage`, `chat.update`, `conversations.replies`; parameters are read
from the query string, a form body or a JSON body, as Slack reads them.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack import slack_press
from local_stack.slack_render import as_text, thread_text
from local_stack.slack_workspace import SinkMessage, SlackError, Workspace

__all__ = [
    "Answer",
    "SinkMessage",
    "SlackSink",
    "api_error",
    "as_text",
    "rate_limited",
    "server_error",
    "stall",
    "webhook_gone",
]


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def rate_limited(retry_after: int = 1) -> Answer:
    return Answer(429, '{"ok": false, "error": "ratelimited"}', {"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Answer:
    return Answer(status, "Internal Server Error")


def webhook_gone(error: str = "no_service") -> Answer:
    """Incoming webhooks answer 404 with a bare error code (no_service, channel_not_found)."""
    return Answer(404, error)


def api_error(error: str) -> Answer:
    """The Web API answers 200 with ok=false (channel_not_found, not_in_channel, invalid_auth)."""
    return Answer(200, json.dumps({"ok": False, "error": error}))


def stall(seconds: float) -> Answer:
    return Answer(200, "ok", delay=seconds)


class SlackSink:
    """The local Slack on loopback: `start()` it (or use it as a context manager), point shoplake at its URLs.

    `messages` is every message posted, in order (chat.update replaces one where it stands); `requests`
    counts the HTTP requests received; `calls` lists each Web API call as `(method, parameters)`; `presses`
    each interaction request sent by `press`; `responses` what apps posted to a press's `response_url`.
    `team_id` and `signing_secret` are the local workspace's and app's (`secret()` gives the Slack secret
    that names them).
    """

    team_id = "T0LOCAL001"

    def __init__(self) -> None:
        self.workspace = Workspace()
        self.requests = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.presses: list[slack_press.Press] = []
        self.responses: list[dict[str, Any]] = []
        self.signing_secret = secrets.token_hex(16)
        self._answers: deque[Answer] = deque()
        self._lock = threading.RLock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass

            def do_GET(self) -> None:
                self._answer(sink._take(self.path, dict(self.headers), ""))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._answer(sink._take(self.path, dict(self.headers), body))

            def _answer(self, answer: Answer) -> None:
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as it should on a stall

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def messages(self) -> list[SinkMessage]:
        return self.workspace.messages

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/services/T000LOCAL/B000LOCAL/local-sink"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api/"

    def secret(self) -> dict[str, str]:
        """The Slack secret (JSON object) of a bot-token installation on this local Slack."""
        return {
            "bot_token": "xoxb-local-sink",
            "api_base_url": self.api_base_url,
            "signing_secret": self.signing_secret,
            "team_id": self.team_id,
        }

    def answer_next(self, *answers: Answer) -> None:
        """Answer the next requests, whatever their method, with `answers` in turn (then as Slack would)."""
        with self._lock:
            self._answers.extend(answers)

    def _take(self, target: str, headers: dict[str, str], body: str) -> Answer:
        with self._lock:
            self.requests += 1
            if self._answers:
                return self._answers.popleft()
            url = urlsplit(target)
            if url.path.startswith("/services/"):
                self.workspace.webhook(json.loads(body))
                return Answer(200, "ok")
            if url.path.startswith("/actions/"):
                self.responses.append(json.loads(body))
                return Answer(200, json.dumps({"ok": True}))
            return self._web_api(url.path.removeprefix("/api/"), _parameters(url.query, headers, body), headers)

    def _web_api(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> Answer:
        handler = {
            "chat.postMessage": self.workspace.post,
            "chat.update": self.workspace.update,
            "conversations.replies": self.workspace.replies,
            "conversations.history": self.workspace.history,
        }.get(method)
        if handler is None:
            return Answer(404, json.dumps({"ok": False, "error": "unknown_method"}))
        self.calls.append((method, params))
        try:
            if not params.get("token") and not _header(headers, "Authorization").startswith("Bearer "):
                raise SlackError("not_authed")
            return Answer(200, json.dumps(handler(params)))
        except SlackError as error:
            return Answer(200, json.dumps({"ok": False, "error": error.code}))

    # -- what people do, and what they see ---------------------------------------------------------------
    @property
    def replies_page_size(self) -> int:
        """The most messages one `conversations.replies` page holds, whatever `limit` asks (Slack's: 1000)."""
        return self.workspace.replies_page_size

    @replies_page_size.setter
    def replies_page_size(self, size: int) -> None:
        self.workspace.replies_page_size = size

    def channel_id(self, channel: str) -> str:
        """The stable ID (`C…`) of channel `channel` (`#name`, `name` or an ID known here)."""
        with self._lock:
            return self.workspace.channel_id(channel)

    def delete(self, channel: str, ts: str) -> None:
        """Someone deletes message `ts` in `channel`: chat.update then answers `message_not_found`, and
        conversations.replies `thread_not_found`. Raises LookupError when there is no such message."""
        with self._lock:
            try:
                self.workspace.delete(channel, ts)
            except SlackError as error:
                raise LookupError(f"no message {ts} in {channel}: {error.code}") from None

    def thread(self, channel: str, ts: str) -> list[SinkMessage]:
        """The thread of message `ts` in `channel`: its parent as it is now, then the replies not deleted."""
        with self._lock:
            try:
                return self.workspace.thread(channel, ts)
            except SlackError as error:
                raise LookupError(f"no message {ts} in {channel}: {error.code}") from None

    def thread_text(self, channel: str, ts: str) -> str:
        """The thread of `ts` in `channel` as a person sees it (local_stack.slack_render.thread_text)."""
        return thread_text(self.thread(channel, ts))

    def press(
        self,
        url: str,
        *,
        action_id: str,
        value: str,
        user_id: str,
        user_name: str,
        channel: str,
        message_ts: str,
        team_id: str,
        signing_secret: str,
        timestamp: float | None = None,
        body_override: str | None = None,
    ) -> tuple[int, str]:
        """`user_id` presses button `action_id` (its `value`) on message `message_ts` in `channel` (name or
        ID): Slack's signed `block_actions` request is POSTed to `url` (local_stack/slack_press.py).

        `timestamp` (epoch seconds; default now) is the one sent and signed; `body_override` is sent, and
        signed, instead of the genuine body (a replay: the body of an earlier press in `presses`). Returns the
        app's `(status, body)`; raises TimeoutError when it takes longer than Slack's 3 s to answer.
        """
        now = time.time()
        with self._lock:
            channel_id = self.workspace.channel_id(channel)
            try:
                message = self.workspace.as_json(self.workspace.find(channel_id, message_ts)[1], metadata=False)
            except SlackError:
                message = {"type": "message", "ts": message_ts}
            payload = slack_press.block_actions(
                action_id=action_id,
                value=value,
                user_id=user_id,
                user_name=user_name,
                channel_id=channel_id,
                channel_name=self.workspace.channel_name(channel_id),
                message=message,
                team_id=team_id,
                response_url=f"{self.base_url}/actions/{team_id}/{len(self.presses) + 1}/{secrets.token_hex(12)}",
                action_ts=now,
            )
        sent_at = int(now if timestamp is None else timestamp)
        body = slack_press.form_body(payload) if body_override is None else body_override
        # Outside the lock: the app answering the press may call this Slack (chat.update) before it answers.
        pressed = slack_press.send(url, body, slack_press.signed_headers(signing_secret, sent_at, body), sent_at)
        with self._lock:
            self.presses.append(pressed)
        return pressed.status, pressed.answer

    def start(self) -> SlackSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _header(headers: dict[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), "")


def _parameters(query: str, headers: dict[str, str], body: str) -> dict[str, Any]:
    """A Web API call's arguments, as Slack reads them: the query string, then a form or JSON body."""
    params: dict[str, Any] = dict(parse_qsl(query))
    if "json" in _header(headers, "Content-Type"):
        params.update(json.loads(body or "{}"))
    elif body:
        params.update(parse_qsl(body))
    return params
