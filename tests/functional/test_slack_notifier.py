"""The Slack notifier handler, on resources built from template.yaml (moto in-process)."""

from __future__ import annotations

import json

import pytest

from local_stack.functions import LocalFunction
from local_stack.slack_sink import SlackSink, as_text, server_error, webhook_gone
from local_stack.stack import LocalStack
from tests.cases import case
from tests.conftest import aws_sample, our_event

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server


@pytest.fixture
def notifier(stack: LocalStack) -> LocalFunction:
    return stack.functions["SlackNotifierFunction"]


def test_alarm_reaches_the_oncall_channel(notifier: LocalFunction, sink: SlackSink) -> None:
    # GIVEN the dev routing (critical -> #shoplake-oncall)
    # WHEN the SNS alarm sample is delivered
    result = notifier.invoke(our_event("slack_notifier/sns_alarm_web_5xx.json"))
    # THEN one message, in the on-call channel, saying what happened
    (message,) = sink.messages
    assert message.channel == "#shoplake-oncall"
    assert message.text.startswith("[Critical] ALARM: shoplake-dev-web-5xx")
    text = as_text(message)
    assert "The public load balancer is answering 5xx to shoppers." in text
    assert "AWS/ApplicationELB/HTTPCode_ELB_5XX_Count" in text
    # and the log names the channel by the ID Slack answered
    assert result["delivered"][0]["channel"] == sink.channel_id("#shoplake-oncall")


def test_pipeline_success_goes_to_the_deploys_channel(notifier: LocalFunction, sink: SlackSink) -> None:
    notifier.invoke(aws_sample("eventbridge_codepipeline_execution_succeeded__awsdocs.json"))
    (message,) = sink.messages
    assert message.channel == "#shoplake-deploys"
    assert message.text.startswith("[OK] Pipeline myPipeline succeeded")


def test_redelivered_event_is_posted_once(notifier: LocalFunction, sink: SlackSink) -> None:
    # GIVEN an event delivered twice (SNS and Lambda are at-least-once)
    event = aws_sample("eventbridge_glue_job_state_change_failed__awsdocs.json")
    first = notifier.invoke(event)
    second = notifier.invoke(event)
    # THEN Slack saw it once, and the second answer is the first one's
    assert len(sink.messages) == 1
    assert second == first


def test_same_alarm_through_sns_and_eventbridge_is_posted_once(notifier: LocalFunction, sink: SlackSink) -> None:
    notifier.invoke(our_event("slack_notifier/sns_alarm_web_5xx.json"))
    notifier.invoke(our_event("slack_notifier/eventbridge_alarm_web_5xx.json"))
    assert len(sink.messages) == 1


def test_backup_notifications_under_one_message_id_are_all_posted(notifier: LocalFunction, sink: SlackSink) -> None:
    notifier.invoke(aws_sample("sns_aws_backup_job_notifications__terraform-aws-notify-slack.json"))
    assert [m.text.split(" — ")[0] for m in sink.messages] == [
        "[OK] AWS Backup backup job completed",
        "[Critical] AWS Backup backup job failed",
        "[Critical] AWS Backup backup job expired",
        "[Critical] AWS Backup copy job failed",
    ]


def test_slack_failure_raises_and_a_retry_then_delivers(notifier: LocalFunction, sink: SlackSink) -> None:
    # GIVEN Slack fails every attempt of the first invocation
    sink.answer_next(*[server_error(500)] * 4)
    event = our_event("slack_notifier/eventbridge_pipeline_failed.json")
    # WHEN the notifier runs, it raises (so Lambda retries and finally dead-letters)
    with pytest.raises(Exception, match="500"):
        notifier.invoke(event)
    # THEN the failed attempt did not mark the alert as delivered: Lambda's retry posts it
    notifier.invoke(event)
    assert len(sink.messages) == 1


def test_undeliverable_alert_lands_in_the_dead_letter_queue(
    stack: LocalStack, notifier: LocalFunction, sink: SlackSink
) -> None:
    # GIVEN Slack refuses every attempt (the webhook was deleted)
    sink.answer_next(*[webhook_gone("no_service")] * 3)
    event = our_event("slack_notifier/eventbridge_nightly_etl_failed.json")
    # WHEN Lambda invokes asynchronously (two retries)
    invocation = notifier.invoke_async(event, stack.session)
    # THEN the alert waits in the dead-letter queue with the error beside it
    assert invocation.attempts == 3
    sqs = stack.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.output("AlertDeadLetterQueueUrl"))["Messages"]
    record = json.loads(messages[0]["Body"])
    assert record["requestPayload"] == event
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert "no_service" in record["responsePayload"]["errorMessage"]


def test_unrecognised_event_is_delivered_and_logged(notifier: LocalFunction, sink: SlackSink) -> None:
    notifier.invoke(our_event("slack_notifier/eventbridge_unrecognised_ec2_state_change.json"))
    (message,) = sink.messages
    assert message.text.startswith("[Info] EC2 Instance State-change Notification (aws.ec2)")
    log = notifier.log_path.read_text()
    assert "Unrecognised alert source" in log
    assert "i-0abcd1234ef567890" in log


def test_notice_from_a_shoplake_function_is_posted(notifier: LocalFunction, sink: SlackSink) -> None:
    notifier.invoke(our_event("slack_notifier/sns_notice_survey_rejected.json"))
    (message,) = sink.messages
    assert message.channel == "#shoplake-alerts"
    assert "Survey file quarantined: 2026-11 지하철 광고 설문.xlsx" in as_text(message)


def test_an_alarm_named_with_slack_controls_reaches_slack_as_text(notifier: LocalFunction, sink: SlackSink) -> None:
    # GIVEN an alarm whose name and description carry <!channel>, <@U…>, & and > (tests/cases), and an ANSI escape
    event = json.loads(case("alerts/sns_alarm_name_with_slack_control_chars.json").read_text(encoding="utf-8"))
    alarm = json.loads(event["Records"][0]["Sns"]["Message"])
    alarm["AlarmDescription"] += " \x1b[2J"
    event["Records"][0]["Sns"]["Message"] = json.dumps(alarm)
    # WHEN the notifier delivers it
    notifier.invoke(event)
    # THEN Slack received no mention, in the notification text or in any block but the plain-text header
    (message,) = sink.messages
    header, *rest = message.blocks
    assert header["text"]["type"] == "plain_text"  # shown literally by Slack: never a mention
    posted = json.dumps({"text": message.text, "blocks": rest})
    assert "<!channel>" not in posted and "<@U0000000>" not in posted
    assert message.text.startswith("[Critical] ALARM: shoplake-dev-checkout p99 &gt; 2s &lt;!channel&gt; &amp; retries")
    # AND a person reads the name as it was typed, and the console shows the escape instead of obeying it
    shown = as_text(message)
    assert "shoplake-dev-checkout p99 > 2s <!channel> & retries" in shown
    assert "owner <@U0000000> \\x1b[2J" in shown and "\x1b" not in shown
