"""An alert rendered for Slack: Block Kit within Slack's limits, and a fallback that tells the whole story."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.slack_blocks import SlackMessage, link, render
from shoplake.alerts.sources import read_alerts
from tests.cases import case
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


# Our own tokens, the only markup allowed to reach Slack unescaped: the date and the console link.
OUR_TOKENS = re.compile(
    r"<!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|[^<>|]*>|<https?://[^<>|\s]+\|Open in the AWS console>"
)
ESCAPED_TEXT = re.compile(r"(?:[^&<>]|&(?:amp|lt|gt);)*", re.DOTALL)


def _mrkdwn_objects(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        found += [block["text"]] if block.get("text", {}).get("type") == "mrkdwn" else []
        found += block.get("fields", []) + block.get("elements", [])
    return found


def assert_nothing_injected(message: SlackMessage) -> None:
    """Outside our own tokens, no `<`, `>` or bare `&` anywhere mrkdwn goes; mrkdwn is never auto-parsed."""
    objects = _mrkdwn_objects(message.blocks)
    assert all(o["type"] == "mrkdwn" and o["verbatim"] is True for o in objects)
    for text in [message.text, *(o["text"] for o in objects)]:
        assert ESCAPED_TEXT.fullmatch(OUR_TOKENS.sub("", text)), text


def test_an_alarm_named_with_slack_controls_mentions_no_one() -> None:
    # GIVEN an SNS alarm whose name and description carry <!channel>, <@U…>, & and > (tests/cases)
    event = json.loads(case("alerts/sns_alarm_name_with_slack_control_chars.json").read_text(encoding="utf-8"))
    (alert,) = read_alerts(event)
    # WHEN it is rendered for Slack
    message = render(alert)
    # THEN what notifications show carries them as text, not as a mention
    assert message.text.startswith("[Critical] ALARM: shoplake-dev-checkout p99 &gt; 2s &lt;!channel&gt; &amp; retries")
    assert "<!channel>" not in message.text and "<@U" not in message.text
    # AND so do the blocks, and the header (plain text, which Slack shows literally) as it was typed
    assert_nothing_injected(message)
    assert "owner &lt;@U0000000&gt;" in message.blocks[1]["text"]["text"]
    assert (
        message.blocks[0]["text"]["text"] == ":red_circle: ALARM: shoplake-dev-checkout p99 > 2s <!channel> & retries"
    )
    # AND the console link still works, its target percent-encoded
    assert message.blocks[-1]["elements"][0]["text"].startswith(
        "<https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/"
        "shoplake-dev-checkout%20p99%20%3E%202s%20%3C%21channel%3E%20%26%20retries|Open in the AWS console>"
    )


HOSTILE = st.text(alphabet=st.sampled_from("<>&|!@^*`_~:#/ \nabcU0123"), max_size=40) | st.text(max_size=40)


HOSTILE_ALERTS = st.builds(
    lambda **texts: replace(ALERT, **texts),
    title=HOSTILE,
    summary=HOSTILE,
    resource=HOSTILE,
    source=HOSTILE,
    detail_type=HOSTILE,
    account=st.none() | HOSTILE,
    region=st.none() | HOSTILE,
    console_url=st.none() | HOSTILE | HOSTILE.map(lambda t: "https://console.example/" + t),
    fields=st.lists(st.tuples(HOSTILE, HOSTILE), max_size=12).map(tuple),
)


@given(HOSTILE_ALERTS)
def test_no_text_from_outside_can_write_slack_markup(alert: Alert) -> None:
    assert_nothing_injected(render(alert))


def test_a_link_target_cannot_end_the_link_or_leave_http() -> None:
    assert link("https://x.example/a|<!here>&b c", "Open") == "<https://x.example/a%7C%3C!here%3E&amp;b%20c|Open>"
    assert link("javascript:alert(1)", "Open") is None
    assert link("https://x.example/" + "a" * 3000, "Open") is None


def test_a_cut_never_leaves_half_an_escape() -> None:
    summary = render(replace(ALERT, summary="&" * 5000)).blocks[1]["text"]["text"]
    assert summary.endswith("&amp;…")
    assert ESCAPED_TEXT.fullmatch(summary.removesuffix("…"))
