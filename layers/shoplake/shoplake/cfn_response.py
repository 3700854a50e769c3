"""Answering CloudFormation for a custom resource: one PUT of the outcome to the request's presigned URL.

CloudFormation waits (up to an hour) for this answer; a handler that fails must still send
FAILED with the reason, or the stack hangs.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

SUCCESS, FAILED = "SUCCESS", "FAILED"


def answer(
    event: Mapping[str, Any], status: str, *, physical_id: str, reason: str = "", data: Mapping[str, Any] | None = None
) -> bytes:
    """The response document CloudFormation expects for `event`."""
    body = {
        "Status": status,
        "Reason": reason[:1000] or status,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": dict(data or {}),
    }
    return json.dumps(body).encode()


def send(
    event: Mapping[str, Any],
    status: str,
    *,
    physical_id: str,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    opener: Callable[..., Any] = urllib.request.urlopen,
) -> None:
    body = answer(event, status, physical_id=physical_id, reason=reason, data=data)
    # The presigned URL was signed for an empty content type.
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's own presigned https URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with opener(request, timeout=30) as response:
        response.read()
