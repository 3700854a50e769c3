"""The clickstream events the shop sends, in the contract's shape (shoplake.clickstream.contract).

The producer queues them and sends them in the background: emitting never blocks a response,
and a shop without a stream (no producer) simply sends nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shoplake.business import EventType, stored_time


class Producer(Protocol):
    def emit(self, event: dict[str, Any]) -> bool: ...


@dataclass
class Visit:
    """Who is asking, as the clickstream records it; one per request."""

    session_id: str
    page: str
    referrer: str | None
    user_agent: str
    client_ip: str | None
    user_id: str | None = None
    # Whether the request has sent its own events; if not, it is recorded as a page view.
    emitted: bool = False


def build_event(kind: EventType, visit: Visit, **fields: Any) -> dict[str, Any]:
    """One event in the contract's shape: `kind`, now (business.stored_time), the visit, and `fields`
    (those None or empty are left out)."""
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "event_time": stored_time(datetime.now(UTC)),
        "event_type": kind.value,
        "session_id": visit.session_id,
        "page": visit.page[:2048],
        "user_agent": visit.user_agent[:1024] or "unknown",
    }
    optional = {"user_id": visit.user_id, "referrer": visit.referrer and visit.referrer[:2048],
                "client_ip": visit.client_ip}  # fmt: skip
    event.update({name: value for name, value in optional.items() if value})
    event.update({name: value for name, value in fields.items() if value is not None and value != ""})
    return event


class Clicks:
    """Sends the shop's events through `producer` (none: they are only counted as sent by the visit)."""

    def __init__(self, producer: Producer | None) -> None:
        self.producer = producer

    def emit(self, kind: EventType, visit: Visit, **fields: Any) -> None:
        visit.emitted = True
        if self.producer is not None:
            self.producer.emit(build_event(kind, visit, **fields))
