"""One alert to one Slack channel: render, route, post."""

from __future__ import annotations

from typing import Any, Protocol

from shoplake.alerts.delivery import Receipt
from shoplake.alerts.model import Alert
from shoplake.alerts.routing import Routing
from shoplake.alerts.slack_blocks import SlackMessage, render


class Sender(Protocol):
    """What posts a rendered message to a channel: `delivery.SlackSender`, or a test's stand-in."""

    def post(self, message: SlackMessage, channel: str) -> Receipt:
        """Post `message` to `channel`; raise on failure (SlackSender raises SlackDeliveryError)."""
        ...


def notify(alert: Alert, *, routing: Routing, sender: Sender) -> dict[str, Any]:
    """Render `alert`, route it and post it once; returns `{"dedupe_key", "channel", "ts", "via"}` for the log.

    `ts` is Slack's message timestamp (None through a webhook). Errors of `sender.post` propagate unchanged.
    """
    channel = routing.channel_for(alert)
    receipt = sender.post(render(alert), channel)
    return {"dedupe_key": alert.dedupe_key, "channel": receipt.channel, "ts": receipt.ts, "via": receipt.via}
