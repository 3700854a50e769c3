"""The EventBridge envelope, as sent directly, through SNS, or as a CodeStar notification.

Fields: EventBridge User Guide, "Event structure reference" (`version`, `id`, `detail-type`, `source`,
`account`, `time`, `region`, `resources`, `detail`;
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html). AWS CodeStar
Notifications' "processed" events spell the type `detailType` (sample:
tests/events/codestar_notification_codepipeline_execution_failed_processed__awsdocs.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shoplake.alerts.model import Alert
from shoplake.alerts.timestamps import to_utc_iso


@dataclass(frozen=True)
class EventEnvelope:
    """An event's envelope, read leniently: missing fields are None, empty, or `{}`.

    `time` is normalised by `to_utc_iso` (None if absent or unreadable); `resources` are ARNs as text;
    `detail` is `{}` when it is not an object; `raw` is the event as received.
    """

    source: str
    detail_type: str
    account: str | None
    region: str | None
    time: str | None
    event_id: str | None
    resources: tuple[str, ...]
    detail: Mapping[str, Any]
    raw: Mapping[str, Any]

    def alert(self, **fields: Any) -> Alert:
        """An alert about this event: where and when default to the event's own."""
        where_and_when = {
            "account": self.account,
            "region": self.region,
            "occurred_at": self.time,
            "detail_type": self.detail_type,
        }
        return Alert(**{**where_and_when, **fields})


def is_event(message: Mapping[str, Any]) -> bool:
    """True if `message` has `source` and a `detail-type` (or CodeStar's `detailType`) key."""
    return "source" in message and ("detail-type" in message or "detailType" in message)


def envelope(event: Mapping[str, Any]) -> EventEnvelope:
    """Read the envelope of an EventBridge event (a parsed JSON object); never raises for missing fields."""
    # CodeStar notification rules ("processed" events) spell the type `detailType`.
    detail = event.get("detail")
    return EventEnvelope(
        source=str(event.get("source", "")),
        detail_type=str(event.get("detail-type") or event.get("detailType") or ""),
        account=event.get("account"),
        region=event.get("region"),
        time=to_utc_iso(event.get("time")),
        event_id=event.get("id"),
        resources=tuple(str(r) for r in event.get("resources") or ()),
        detail=detail if isinstance(detail, Mapping) else {},
        raw=event,
    )
