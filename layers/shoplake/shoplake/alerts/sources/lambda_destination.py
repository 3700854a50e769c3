"""A function's failed asynchronous invocation, as Lambda's on-failure destination records it.

Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations" (example invocation record):
`requestContext` (`requestId`, `functionArn`, `condition`: `RetriesExhausted` | `EventAgeExceeded`,
`approximateInvokeCount`), `requestPayload` (the event), `responseContext` (`functionError`: `Handled` |
`Unhandled`) and `responsePayload` (`errorMessage`, `errorType`, or absent when the event expired unrun).
An SNS destination sends the record as the message's JSON text. Sample: tests/events/lambda_destination_*.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoplake.alerts import console
from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.timestamps import to_utc_iso
from shoplake.s3_notifications import objects_created

SHOWN_ERROR = 500
_CONDITIONS = {
    "RetriesExhausted": "failed on every attempt",
    "EventAgeExceeded": "was never run: the event grew too old waiting in Lambda's queue",
}


def is_invocation_record(message: object) -> bool:
    """True if `message` is a mapping with Lambda's `requestContext`, `requestPayload` and `responseContext`."""
    return isinstance(message, Mapping) and all(
        name in message for name in ("requestContext", "requestPayload", "responseContext")
    )


def _files(payload: object) -> list[str]:
    if not isinstance(payload, Mapping):
        return []
    return [
        f"s3://{o.bucket}/{o.key}" + (f" (version {o.version_id})" if o.version_id else "")
        for o in objects_created(payload)
    ]


def _shown(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _error(response: object) -> str:
    if isinstance(response, Mapping):
        message = str(response.get("errorMessage") or "")
        kind = str(response.get("errorType") or "")
        text = f"{kind}: {message}" if kind and message else (message or kind)
    else:
        text = "" if response is None else str(response)
    return text[:SHOWN_ERROR] or "no error was recorded"


def from_record(record: Mapping[str, Any], topic_arn: str | None) -> Alert:
    """A failed-invocation record as a critical alert naming the function and every file its event named.

    The title is `<function> could not handle <file names>` (file names with control characters escaped)
    or `<function> failed`; the summary says how it failed (every attempt, or never run), the error, and for
    a timeout that the file may need splitting. A record whose event names S3 objects is an ingestion alert,
    any other an `other` one. The dedupe key is `lambda-failure:<requestId>`. Raises KeyError when
    `requestContext` has no `functionArn`, TypeError/AttributeError when it is not an object.
    """
    context = record["requestContext"]
    function_arn = str(context["functionArn"])
    function = function_arn.split(":function:", 1)[-1].split(":", 1)[0]
    condition = str(context.get("condition") or "")
    attempts = context.get("approximateInvokeCount")
    files = _files(record.get("requestPayload"))
    names = [_shown(f.rsplit("/", 1)[-1].split(" (version ")[0]) for f in files]
    error = _error(record.get("responsePayload"))
    how = _CONDITIONS.get(condition, f"failed ({condition or 'no condition given'})")
    timed_out = "timed out" in error.lower()
    summary = (
        (f"*{', '.join(names)}*: " if names else "")
        + f"`{function}` {how}"
        + (f" ({attempts} attempts)" if attempts else "")
        + f". Error: {_shown(error)}."
        + (" The file took longer than the function may run: split it into smaller files." if timed_out else "")
        + (" The file is still in the inbox; once the cause is fixed, upload it again." if files else "")
    )
    fields = [("Function", function), ("Condition", condition or "—")]
    fields += [("File", _shown(f)) for f in files]
    return Alert(
        title=f"{function} could not handle {', '.join(names)}" if names else f"{function} failed",
        summary=summary,
        severity=Severity.CRITICAL,
        category=Category.INGESTION if files else Category.OTHER,
        source="AWS Lambda",
        resource=files[0] if len(files) == 1 else function_arn,
        dedupe_key=f"lambda-failure:{context.get('requestId') or function_arn}",
        detail_type="Lambda invocation failed",
        account=console.account_of_arn(function_arn) or console.account_of_arn(topic_arn),
        region=console.region_of_arn(function_arn) or console.region_of_arn(topic_arn),
        occurred_at=to_utc_iso(record.get("timestamp")),
        fields=tuple(fields),
    )
