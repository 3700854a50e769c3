"""Answering CloudFormation for a custom resource: one PUT of the outcome to the request's presigned URL.

CloudFormation waits (up to an hour) for this answer; a handler that fails must still send
FAILED with the reason, or the stack hangs. The fields are CloudFormation's "Custom resource
response objects" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
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
    """The response document CloudFormation expects for `event`, as UTF-8 JSON bytes.

    `event` is the custom resource request (`StackId`, `RequestId`, `LogicalResourceId` are copied back);
    `status` is `SUCCESS` or `FAILED` (not checked); `reason` is cut to 1,000 characters and defaults to the
    status; `data` becomes `Data` (read with `Fn::GetAtt`). CloudFormation refuses a body over 4,096 bytes;
    nothing here enforces that. Raises KeyError when `event` lacks one of the copied fields.
    """
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
    """PUT `answer(...)` to the request's presigned `ResponseURL`, with an empty Content-Type, 30 s timeout.

    `opener` is `urllib.request.urlopen` or a stand-in with its signature. Raises KeyError without
    `ResponseURL`, `urllib.error.HTTPError`/`URLError` (and `TimeoutError`) when S3 refuses or cannot be
    reached; nothing is retried.
    """
    body = answer(event, status, physical_id=physical_id, reason=reason, data=data)
    # The presigned URL was signed for an empty content type.
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's own presigned https URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with opener(request, timeout=30) as response:
        response.read()
