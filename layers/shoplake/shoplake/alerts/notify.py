"""One alert to one Slack channel: render, route, post."""

from __future__ import annotations

from typing import Any, Protocol

from shoplake.alerts.delivery import Receipt
from shoplake.alerts.model import Alert
from shoplake.alerts.routing import Routing
from shoplake.alerts.slack_blocks import SlackMessage, render


class Sender(Protocol):
    def post(self, message: SlackMessage, channel: str) -> Receipt: ...


def notify(alert: Alert, *, routing: Routing, sender: Sender) -> dict[str, Any]:
    channel = routing.channel_for(alert)
    receipt = sender.post(render(alert), channel)
    return {"dedupe_key": alert.dedupe_key, "channel": receipt.channel, "ts": receipt.ts, "via": receipt.via}
