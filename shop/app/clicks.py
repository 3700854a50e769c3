"""The clickstream events the shop sends, in the contract's shape (shoplake.clickstream.contract).

The producer queues them and sends them in the background: emitting never blocks a response,
and a shop without a stream (no producer) simply sends nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol


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


def event_time(moment: datetime | None = None) -> str:
    """The contract's stored form: UTC, milliseconds, `Z`."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def build_event(kind: str, visit: Visit, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "event_time": event_time(),
        "event_type": kind,
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
    def __init__(self, producer: Producer | None) -> None:
        self.producer = producer

    def emit(self, kind: str, visit: Visit, **fields: Any) -> None:
        visit.emitted = True
        if self.producer is not None:
            self.producer.emit(build_event(kind, visit, **fields))
