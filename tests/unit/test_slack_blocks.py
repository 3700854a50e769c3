"""An alert rendered for Slack: Block Kit within Slack's limits, and a fallback that tells the whole story."""

from __future__ import annotations

from dataclasses import replace

from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.slack_blocks import render
from shoplake.alerts.sources import read_alerts
from tests.conftest import our_event

ALERT = Alert(
    title="ALARM: shoplake-dev-web-5xx",
    summary="*shoplake-dev-web-5xx* is in ALARM (was OK).",
    severity=Severity.CRITICAL,
    category=Category.ALARM,
    source="CloudWatch alarm",
    resource="shoplake-dev-web-5xx",
    dedupe_key="alarm:shoplake-dev-web-5xx:ALARM:2026-11-24T17:05:12.431Z",
    detail_type="CloudWatch Alarm (SNS)",
    account="123456789012",
    region="ap-northeast-2",
    occurred_at="2026-11-24T17:05:12.431Z",
    console_url="https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/x",
    fields=(("Reason", "Threshold Crossed: 37 > 10 -> ALARM"),),
)


def _field_texts(blocks: list[dict]) -> list[str]:
    return [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]


def test_message_says_what_where_when_and_how_severe() -> None:
    message = render(ALERT)
    header, summary = message.blocks[0], message.blocks[1]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": ":red_circle: ALARM: shoplake-dev-web-5xx", "emoji": True},
    }
    assert summary["text"]["text"] == "*shoplake-dev-web-5xx* is in ALARM (was OK)."
    fields = _field_texts(message.blocks)
    assert "*Severity*\nCritical" in fields
    assert "*Resource*\nshoplake-dev-web-5xx" in fields
    assert "*Where*\n123456789012 / ap-northeast-2" in fields
    assert "*When*\n<!date^1795539912^{date_short_pretty} {time_secs}|2026-11-24 17:05:12 UTC>" in fields
    context = message.blocks[-1]["elements"][0]["text"]
    assert context.startswith(f"<{ALERT.console_url}|Open in the AWS console>")


def test_fallback_text_carries_the_whole_story_on_one_line() -> None:
    assert render(ALERT).text == (
        "[Critical] ALARM: shoplake-dev-web-5xx — CloudWatch alarm shoplake-dev-web-5xx"
        " in 123456789012 / ap-northeast-2 at 2026-11-24 17:05:12 UTC"
    )


def test_slack_control_characters_in_values_are_escaped() -> None:
    fields = _field_texts(render(ALERT).blocks)
    assert "*Reason*\nThreshold Crossed: 37 &gt; 10 -&gt; ALARM" in fields


def test_long_content_stays_within_slack_limits() -> None:
    long = replace(
        ALERT,
        title="T" * 400,
        summary="S" * 5000,
        fields=tuple((f"Field {i}", "v" * 3000) for i in range(14)),
    )
    blocks = render(long).blocks
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(blocks[1]["text"]["text"]) <= 3000
    sections = [b for b in blocks if b["type"] == "section" and "fields" in b]
    assert all(len(b["fields"]) <= 10 for b in sections)
    assert all(len(f["text"]) <= 2000 for b in sections for f in b["fields"])
    # all 4 standard facts and all 14 fields are still there
    assert sum(len(b["fields"]) for b in sections) == 18


def test_alert_without_time_or_link_still_renders() -> None:
    message = render(replace(ALERT, occurred_at=None, console_url=None, account=None, region=None))
    assert "*When*\nunknown" in _field_texts(message.blocks)
    assert "Open in the AWS console" not in message.blocks[-1]["elements"][0]["text"]
    assert message.text.endswith("in unknown account / unknown region at unknown time")


def test_unrecognised_event_is_never_only_a_json_dump() -> None:
    (alert,) = read_alerts(our_event("slack_notifier/eventbridge_unrecognised_ec2_state_change.json"))
    message = render(alert)
    assert message.blocks[0]["text"]["text"] == ":large_blue_circle: EC2 Instance State-change Notification (aws.ec2)"
    assert "{" not in message.blocks[1]["text"]["text"]
    assert "*instance-id*\ni-0abcd1234ef567890" in _field_texts(message.blocks)
