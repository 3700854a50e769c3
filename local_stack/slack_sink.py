"""A local Slack: answers incoming-webhook and `chat.postMessage` requests as Slack does.

It keeps every message it accepts, and can be told to answer the next requests with
Slack's failure answers (429 with Retry-After, 5xx, 404 `channel_not_found`, a stall),
so that delivery is tested against the protocol rather than against a mock.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class SinkMessage:
    via: str
    channel: str | None
    text: str
    blocks: list[dict[str, Any]]


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
    def __init__(self) -> None:
        self.messages: list[SinkMessage] = []
        self.requests = 0
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                answer = sink._take(self.path, self.headers.get("Content-Type", ""), body)
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
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/services/T000LOCAL/B000LOCAL/local-sink"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api/"

    def answer_next(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def _take(self, path: str, content_type: str, body: str) -> Answer:
        with self._lock:
            self.requests += 1
            if self._answers:
                return self._answers.popleft()
            if path.startswith("/services/"):
                data = json.loads(body)
                self.messages.append(SinkMessage("webhook", None, data.get("text", ""), data.get("blocks") or []))
                return Answer(200, "ok")
            if path.endswith("chat.postMessage"):
                data = json.loads(body) if "json" in content_type else {}
                self.messages.append(
                    SinkMessage("chat.postMessage", data.get("channel"), data.get("text", ""), data.get("blocks") or [])
                )
                ts = f"{time.time():.6f}"
                return Answer(200, json.dumps({"ok": True, "channel": data.get("channel"), "ts": ts}))
            return Answer(404, json.dumps({"ok": False, "error": "unknown_method"}))

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


_DATE_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
# C0 and C1 control characters but the newline: a terminal would act on them (ANSI escapes).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _for_terminal(text: str) -> str:
    """Slack's date tokens and links as a terminal can show them, its escapes undone, control characters shown."""
    text = _LINK.sub(lambda m: f"{m.group(2)}: {m.group(1)}", _DATE_TOKEN.sub(r"\1", text))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def as_text(message: SinkMessage) -> str:
    """A Slack message as a terminal would show it: header, text, fields, context."""
    lines = [f"── {message.channel or '(webhook channel)'} " + "─" * 40]
    for block in message.blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(block["text"]["text"])
        elif kind == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            for item in block.get("fields") or []:
                name, _, value = item["text"].partition("\n")
                lines.append(f"  {name.strip('*')}: {value}")
        elif kind == "context":
            lines.append("  " + " ".join(e.get("text", "") for e in block["elements"]))
    if not message.blocks:
        lines.append(message.text)
    return _for_terminal("\n".join(lines))
