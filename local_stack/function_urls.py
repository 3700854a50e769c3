"""A function URL opened as a browser would, against the local stack.

Lambda turns an HTTPS request to `https://<url-id>.lambda-url.<region>.on.aws/...` into a payload 2.0
event (Lambda Developer Guide, "Invoking Lambda function URLs", request payload); here the request is
built from `events/survey_download/link_opened.json` (a browser's GET) and the function runs in-process.
A redirect to moto's S3 is followed over HTTP, as the browser would follow it to S3, and authorised as
S3 authorises a presigned URL: when it is used, as the principal who signed it (moto's S3 answers it under
local_stack/iam/presigned.py's check).
"""

from __future__ import annotations

import copy
import json
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack.stack import LocalStack
from local_stack.template import ROOT

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
