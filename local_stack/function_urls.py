"""Function URL requests as Lambda hands them to the function, against the local stack.

Lambda turns an HTTPS request to `https://<url-id>.lambda-url.<region>.on.aws/...` into a payload 2.0
event (Lambda Developer Guide, "Invoking Lambda function URLs", request payload). `request_event` builds a
browser's GET from `events/survey_download/link_opened.json`; `http_request_event` any HTTP request (what
local_stack.function_url_server serves); `slack_signed` signs a sample Slack request again, as Slack would now.
`open_url` opens a link as a browser would, the function running in-process: a redirect to moto's S3 is
followed over HTTP, as the browser would follow it to S3, and authorised as S3 authorises a presigned URL:
when it is used, as the principal who signed it (moto's S3 answers it under local_stack/iam/presigned.py's check).
"""

from __future__ import annotations

import base64
import copy
import json
import time
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.signature import SignatureVerifier

from local_stack.template import ROOT

if TYPE_CHECKING:  # the stack serves its URLs with this module's events (local_stack.function_url_server)
    from local_stack.stack import LocalStack

LINK_OPENED = ROOT / "events" / "survey_download" / "link_opened.json"


@dataclass(frozen=True)
class Opened:
    """What the browser got: the function's status and headers, and the file's bytes if it was redirected to one."""

    status: int
    headers: dict[str, str]
    body: bytes


def request_event(url: str, method: str = "GET") -> dict[str, Any]:
    """The payload 2.0 event Lambda would give the function for a request to `url`."""
    parts = urlsplit(url)
    event: dict[str, Any] = copy.deepcopy(json.loads(LINK_OPENED.read_text(encoding="utf-8")))
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value  # Lambda joins repeats with commas
    event["rawPath"] = parts.path or "/"
    event["rawQueryString"] = parts.query
    if query:
        event["queryStringParameters"] = query
    else:
        event.pop("queryStringParameters", None)
    event["headers"]["host"] = parts.hostname or ""
    context = event["requestContext"]
    context["domainName"] = parts.hostname or ""
    context["domainPrefix"] = (parts.hostname or "").split(".", 1)[0]
    context["http"].update(method=method, path=event["rawPath"], sourceIp="127.0.0.1")
    context["timeEpoch"] = int(time.time() * 1000)
    return event


# Bodies Lambda passes as text; any other content type arrives base64-encoded with isBase64Encoded true, a form
# body (Slack's interactions) included (Lambda Developer Guide, "Invoking Lambda function URLs", request payload).
TEXT_CONTENT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


def http_request_event(
    url: str, method: str, headers: Iterable[tuple[str, str]], body: bytes, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The payload 2.0 event Lambda gives the function for an HTTP request to its URL `url` (path and query
    included) with `headers` as (name, value) pairs: names lowercased, repeated headers joined with commas,
    cookies apart, the body as text or base64 by its content type, and the `x-forwarded-*` headers Lambda adds."""
    event = request_event(url, method)
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    cookies = [c.strip() for c in joined.pop("cookie", "").split(";") if c.strip()]
    joined.update({"x-forwarded-proto": "https", "x-forwarded-port": "443", "x-forwarded-for": source_ip})
    joined["host"] = event["headers"]["host"]
    event["headers"] = joined
    if cookies:
        event["cookies"] = cookies
    http = event["requestContext"]["http"]
    http.update(sourceIp=source_ip, userAgent=joined.get("user-agent", ""))
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["requestContext"]["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    if body:
        text = joined.get("content-type", "").lower().startswith(TEXT_CONTENT_TYPES)
        event["body"] = body.decode("utf-8", "replace") if text else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = not text
    else:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    return event


def slack_signed(event: Mapping[str, Any], signing_secret: str, now: float | None = None) -> dict[str, Any]:
    """A copy of `event` (a function URL event carrying a Slack request, like events/slack_interactions/) signed
    again as Slack would sign it at `now` (epoch seconds; default the current time) with `signing_secret`:
    `x-slack-request-timestamp` and `x-slack-signature` replaced (Slack API, "Verifying requests from Slack")."""
    signed: dict[str, Any] = copy.deepcopy(dict(event))
    body = str(signed.get("body") or "")
    text = base64.b64decode(body).decode("utf-8") if signed.get("isBase64Encoded") else body
    timestamp = str(int(time.time() if now is None else now))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=timestamp, body=text)
    signed["headers"].update({"x-slack-request-timestamp": timestamp, "x-slack-signature": signature})
    signed["requestContext"]["timeEpoch"] = int(timestamp) * 1000
    return signed


def open_url(stack: LocalStack, url: str, method: str = "GET") -> Opened:
    """Open `url` (a function URL of the local stack) and follow a redirect to S3 as a browser would.

    Raises LookupError when no function of the stack has that URL.
    """
    host = urlsplit(url).hostname
    for logical_id, function in stack.functions.items():
        created = stack.stack.resources.get(f"{logical_id}Url")
        if created is not None and urlsplit(created.attrs["FunctionUrl"]).hostname == host:
            response = function.invoke(request_event(url, method))
            break
    else:
        raise LookupError(f"no function of the local stack answers {host}")
    headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
    status = int(response["statusCode"])
    if status in (301, 302, 303, 307) and "Location" in headers:
        with urllib.request.urlopen(headers["Location"]) as followed:  # noqa: S310 - moto's S3 on loopback
            return Opened(status, {**headers, **dict(followed.headers.items())}, followed.read())
    return Opened(status, headers, str(response.get("body") or "").encode())
