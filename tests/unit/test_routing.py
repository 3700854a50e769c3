"""Channel routing: severity first, then category, then the default; bad configuration named clearly."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from local_stack.template import load_template
from shoplake.alerts.model import Category, Severity
from shoplake.alerts.routing import Routing, RoutingError
from tests.unit.test_slack_blocks import ALERT

CONFIG = '{"default": "#alerts", "by_severity": {"critical": "#oncall"}, "by_category": {"deployment": "#deploys"}}'


@pytest.mark.parametrize(
    ("severity", "category", "channel"),
    [
        (Severity.CRITICAL, Category.DEPLOYMENT, "#oncall"),
        (Severity.WARNING, Category.DEPLOYMENT, "#deploys"),
        (Severity.SUCCESS, Category.DEPLOYMENT, "#deploys"),
        (Severity.WARNING, Category.ETL, "#alerts"),
        (Severity.CRITICAL, Category.ALARM, "#oncall"),
    ],
)
def test_alert_goes_to_the_configured_channel(severity: Severity, category: Category, channel: str) -> None:
    routing = Routing.from_json(CONFIG)
    assert routing.channel_for(replace(ALERT, severity=severity, category=category)) == channel


def test_the_templates_default_routing_is_valid() -> None:
    default = load_template()["Parameters"]["AlertRouting"]["Default"]
    routing = Routing.from_json(default)
    assert routing.default == "#shoplake-alerts"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("not json", "AlertRouting is not JSON"),
        ("[]", "must be a JSON object"),
        ('{"by_severity": {}}', "AlertRouting.default"),
        ('{"default": "#a", "by_severity": {"urgent": "#b"}}', "AlertRouting.by_severity.urgent: unknown"),
        ('{"default": "#a", "by_category": {"etl": ""}}', "AlertRouting.by_category.etl: a channel name"),
        ('{"default": "#a", "channels": {}}', "unknown key(s) ['channels']"),
    ],
)
def test_bad_routing_names_the_key(config: str, message: str) -> None:
    with pytest.raises(RoutingError, match=re.escape(message)):
        Routing.from_json(config)
