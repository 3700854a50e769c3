"""A function URL of the local stack as a real HTTP server on loopback, for callers that speak HTTP (the local Slack).

Lambda answers a request to `https://<url-id>.lambda-url.<region>.on.aws/…` in three steps (Lambda Developer Guide,
"Invoking Lambda function URLs" and "Control access to Lambda function URLs"): it checks the function's resource
policy (for AuthType NONE, anyone must be allowed `lambda:InvokeFunctionUrl` with `lambda:FunctionUrlAuthType`
NONE and `lambda:InvokeFunction` with `lambda:InvokedViaFunctionUrl`; else 403), turns the request into a payload
2.0 event (`function_urls.http_request_event`) and invokes the function, then turns its result into the answer:
a `statusCode` result gives the status, headers, cookies and body (base64-decoded when `isBase64Encoded`); any
other JSON result is a 200 `application/json` answer of that JSON; a function error is a 502. Here the function
runs in-process as its own role, through the stack's `LocalFunction.invoke`.
"""

from __future__ import annotations

import base64
import json
import threading
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local_stack.function_urls import http_request_event
from local_stack.functions import LocalFunction
from local_stack.iam.evaluate import Caller, evaluate
from local_stack.iam.model import Ledger, Registry, Use

# The principal name the ledger records for an unauthenticated caller of a URL whose AuthType is NONE.
ANONYMOUS = "anonymous (function URL)"


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _plain(status: int, message: str) -> HttpAnswer:
    # Lambda's own answers (403, 502) are small JSON documents: {"Message": "Forbidden"}.
    return HttpAnswer(status, [("Content-Type", "application/json")], json.dumps({"Message": message}).encode())


def http_answer(result: Any) -> HttpAnswer:
    """The HTTP answer Lambda makes of a function URL invocation's `result` (payload 2.0 response)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpAnswer(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(str(body))
    else:
        payload = str(body).encode()
    return HttpAnswer(int(result["statusCode"]), headers, payload)


class FunctionUrlServer:
    """`function`'s URL (`public_url`, the stand-in `https://…lambda-url…on.aws/`) served at `url` on 127.0.0.1.

    `auth_type` is the template's FunctionUrlConfig.AuthType (only NONE is served; AWS_IAM would need SigV4).
    With a `registry`, each request is judged against the function's resource policy and recorded in `ledger`.
    """

    def __init__(
        self,
        function: LocalFunction,
        public_url: str,
        *,
        auth_type: str = "NONE",
        registry: Registry | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        if auth_type != "NONE":
            raise NotImplementedError(f"{function.logical_id}: a local function URL with AuthType {auth_type}")
        self.function = function
        self.public_url = public_url
        self.registry = registry
        self.ledger = ledger if ledger is not None else Ledger()
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = [(name, value) for name, value in self.headers.items()]
                answer = server.answer(self.command, self.path, headers, body, self.client_address[0])
                self.send_response(answer.status)
                for name, value in answer.headers:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"url-{function.logical_id}")
        self._thread.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> FunctionUrlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _allowed(self) -> bool:
        """Whether anyone may call the function through its URL, judged as Lambda does and recorded."""
        if self.registry is None:
            return True
        arn = self.function.arn
        policy = self.registry.resource_policy(arn)
        anyone = Caller(arn="", account="")
        checks = (
            ("lambda:InvokeFunctionUrl", {"lambda:FunctionUrlAuthType": "NONE"}),
            ("lambda:InvokeFunction", {"lambda:InvokedViaFunctionUrl": True}),
        )
        allowed = True
        for action, context in checks:
            decision = evaluate(anyone, action, arn, resource_policy=policy, context=context)
            self.ledger.record(Use(ANONYMOUS, action, arn, decision.allowed, "explicit", decision.reason))
            allowed = allowed and decision.allowed
        return allowed

    def answer(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str = "127.0.0.1"
    ) -> HttpAnswer:
        """Lambda's answer to one HTTP request: `path` with its query, `headers` as received (repeats kept)."""
        self.requests += 1
        if not self._allowed():
            return _plain(403, "Forbidden")
        parts = urlsplit(self.public_url)
        event = http_request_event(f"{parts.scheme}://{parts.netloc}{path}", method, headers, body, source_ip)
        try:
            result = self.function.invoke(event)
        except Exception:  # noqa: BLE001 - Lambda answers any function error with 502 and logs it
            with self.function.log_path.open("a", encoding="utf-8") as log:
                log.write(f"function URL request failed:\n{traceback.format_exc()}\n")
            return _plain(502, "Internal Server Error")
        return http_answer(result)
