"""Which Slack channel an alert goes to: configured in one place, the `AlertRouting` parameter.

The configuration is JSON::

    {"default": "#shoplake-alerts",
     "by_severity": {"critical": "#shoplake-oncall"},
     "by_category": {"deployment": "#shoplake-deploys"}}

A severity route wins over a category route, so a critical deployment failure still
wakes the on-call channel; anything unmatched goes to `default`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from shoplake.alerts.model import Alert, Category, Severity


class RoutingError(ValueError):
    """The routing configuration is wrong; the message names the key."""


@dataclass(frozen=True)
class Routing:
    """The parsed `AlertRouting` configuration: a default channel, and channels by severity and by category."""

    default: str
    by_severity: Mapping[Severity, str] = field(default_factory=dict)
    by_category: Mapping[Category, str] = field(default_factory=dict)

    def channel_for(self, alert: Alert) -> str:
        """The channel (name or id, as configured) for `alert`: its severity's, else its category's, else `default`."""
        return self.by_severity.get(alert.severity) or self.by_category.get(alert.category) or self.default

    @classmethod
    def from_json(cls, text: str) -> Routing:
        """Parse the `AlertRouting` JSON text (shape in the module docstring).

        Raises RoutingError naming the key when the text is not JSON, not an object, has a key other than
        `default`, `by_severity` and `by_category`, lacks a non-empty `default`, or a table is not an object,
        names an unknown severity or category, or maps one to an empty or non-text channel.
        """
        try:
            config = json.loads(text)
        except ValueError as error:
            raise RoutingError(f"AlertRouting is not JSON: {error}") from None
        if not isinstance(config, dict):
            raise RoutingError("AlertRouting must be a JSON object")
        unknown = set(config) - {"default", "by_severity", "by_category"}
        if unknown:
            raise RoutingError(f"AlertRouting: unknown key(s) {sorted(unknown)}")
        default = config.get("default")
        if not isinstance(default, str) or not default:
            raise RoutingError("AlertRouting.default: a channel name is required")
        return cls(
            default=default,
            by_severity=_table(config.get("by_severity"), Severity, "by_severity"),
            by_category=_table(config.get("by_category"), Category, "by_category"),
        )


def _table[K: (Severity, Category)](raw: object, kind: type[K], name: str) -> dict[K, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RoutingError(f"AlertRouting.{name} must be an object")
    table: dict[K, str] = {}
    for key, channel in raw.items():
        try:
            member = kind(key)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise RoutingError(f"AlertRouting.{name}.{key}: unknown; use one of {allowed}") from None
        if not isinstance(channel, str) or not channel:
            raise RoutingError(f"AlertRouting.{name}.{key}: a channel name is required")
        table[member] = channel
    return table
