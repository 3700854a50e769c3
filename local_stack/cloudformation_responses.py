"""A local stand-in for CloudFormation's custom-resource response URL, on loopback.

CloudFormation hands a custom resource a presigned S3 URL (`ResponseURL`) and waits for one PUT
of a JSON response there. Locally nothing answers that URL, so `ResponseReceiver` listens on
127.0.0.1, `addressed_to` points a request event at it, and `problems` checks what arrived the
way CloudFormation reads it (the response fields of the AWS CloudFormation User Guide, "Custom
resource response objects").
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATUSES = ("SUCCESS", "FAILED")
# CloudFormation refuses a response larger than this (bytes).
MAX_RESPONSE_BYTES = 4096
_ECHOED = ("StackId", "RequestId", "LogicalResourceId")


def is_custom_resource_request(event: Mapping[str, Any]) -> bool:
    """Whether `event` is a CloudFormation custom-resource request (Create, Update or Delete)."""
    return {"RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId"} <= set(event)


@dataclass
class ResponseReceiver:
    """Takes PUTs of custom-resource responses on 127.0.0.1, as the presigned S3 URL does (200, empty body)."""

    bodies: list[bytes] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/cloudformation-response"

    def start(self) -> ResponseReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:  # recorded before the answer: the sender's PUT returns after it
                    receiver.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ResponseReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def addressed_to(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The request event with its ResponseURL pointing here."""
        return {**event, "ResponseURL": self.url}

    def responses(self) -> list[dict[str, Any]]:
        """Every response received, parsed (a body that is not a JSON object is kept under `_unreadable`)."""
        parsed: list[dict[str, Any]] = []
        for body in self.bodies:
            try:
                document = json.loads(body)
            except ValueError:
                document = None
            parsed.append(document if isinstance(document, dict) else {"_unreadable": body.decode(errors="replace")})
        return parsed


def problems(request: Mapping[str, Any], bodies: list[bytes]) -> list[str]:
    """What CloudFormation would refuse in the responses to `request`: none, two, or a malformed one."""
    if not bodies:
        return ["no response arrived: CloudFormation would wait for one (up to an hour) and then fail the stack"]
    if len(bodies) > 1:
        return [f"{len(bodies)} responses arrived; CloudFormation takes one per request"]
    body = bodies[0]
    if len(body) > MAX_RESPONSE_BYTES:
        return [f"the response is {len(body)} bytes; CloudFormation refuses more than {MAX_RESPONSE_BYTES}"]
    try:
        response = json.loads(body)
    except ValueError as error:
        return [f"the response is not JSON: {error}"]
    if not isinstance(response, dict):
        return ["the response is not a JSON object"]
    found = []
    if response.get("Status") not in STATUSES:
        found.append(f"field 'Status' is {response.get('Status')!r}, not one of {', '.join(STATUSES)}")
    if not response.get("PhysicalResourceId"):
        found.append("field 'PhysicalResourceId' is missing")
    if response.get("Status") == "FAILED" and not response.get("Reason"):
        found.append("field 'Reason' is missing from a FAILED response")
    for name in _ECHOED:
        if response.get(name) != request.get(name):
            found.append(f"field {name!r} is {response.get(name)!r}, not the request's {request.get(name)!r}")
    if "Data" in response and not isinstance(response["Data"], dict):
        found.append("field 'Data' is not an object")
    return found
