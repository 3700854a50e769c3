"""The local stack end to end: alerts published the way AWS publishes them reach the Slack sink."""

from __future__ import annotations

import json
from typing import Any

from local_stack.slack_sink import SlackSink, webhook_gone
from local_stack.stack import LocalStack
from tests.conftest import aws_sample, our_event


def _put_event(stack: LocalStack, event: dict[str, Any]) -> None:
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources") or [],
    }
    assert stack.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_functions_reach_moto_through_the_endpoint(stack: LocalStack) -> None:
    assert stack.endpoint_url.startswith("http://127.0.0.1:")
    assert stack.functions["SlackNotifierFunction"].env["AWS_ENDPOINT_URL"] == stack.endpoint_url


def test_alarm_published_to_the_topic_reaches_slack(stack: LocalStack, sink: SlackSink) -> None:
    # GIVEN the alarm message CloudWatch publishes to the alert topic
    message = our_event("slack_notifier/sns_alarm_web_5xx.json")["Records"][0]["Sns"]["Message"]
    # WHEN it is published to the topic the template declares
    stack.client("sns").publish(TopicArn=stack.output("AlertTopicArn"), Message=message)
    stack.deliver_pending()
    # THEN the on-call channel has it
    (posted,) = sink.messages
    assert posted.channel == "#shoplake-oncall"
    assert posted.text.startswith("[Critical] ALARM: shoplake-dev-web-5xx")


def test_pipeline_failure_on_eventbridge_reaches_slack(stack: LocalStack, sink: SlackSink) -> None:
    _put_event(stack, our_event("slack_notifier/eventbridge_pipeline_failed.json"))
    stack.deliver_pending()
    (posted,) = sink.messages
    assert posted.text.startswith("[Critical] Pipeline shoplake-dev-delivery failed")


def test_rules_only_match_what_the_template_asks_for(stack: LocalStack, sink: SlackSink) -> None:
    # GIVEN a pipeline of another project, and a Glue success while NotifyGlueJobSuccess=false
    other = our_event("slack_notifier/eventbridge_pipeline_failed.json")
    other["detail"]["pipeline"] = "someone-elses-pipeline"
    glue_ok = aws_sample("eventbridge_glue_job_state_change_succeeded__awsdocs.json")
    glue_ok["detail"]["jobName"] = "shoplake-dev-clean"
    # WHEN both are put on the bus
    _put_event(stack, other)
    _put_event(stack, glue_ok)
    stack.deliver_pending()
    # THEN neither reaches Slack
    assert sink.messages == []


def test_glue_failure_and_nightly_etl_failure_reach_slack(stack: LocalStack, sink: SlackSink) -> None:
    _put_event(stack, our_event("slack_notifier/eventbridge_glue_job_failed.json"))
    _put_event(stack, our_event("slack_notifier/eventbridge_nightly_etl_failed.json"))
    stack.deliver_pending()
    assert sorted(m.text.split(" — ")[0] for m in sink.messages) == [
        "[Critical] Glue job shoplake-dev-clean failed",
        "[Critical] shoplake-dev-nightly-etl failed",
    ]


def test_alert_slack_refuses_is_kept_in_the_dead_letter_queue(stack: LocalStack, sink: SlackSink) -> None:
    # GIVEN Slack refuses every attempt
    sink.answer_next(*[webhook_gone("channel_not_found")] * 3)
    notice = our_event("slack_notifier/sns_notice_survey_rejected.json")["Records"][0]["Sns"]["Message"]
    # WHEN a notice is published
    stack.client("sns").publish(TopicArn=stack.output("AlertTopicArn"), Message=notice)
    (invocation,) = stack.deliver_pending()
    # THEN after Lambda's retries it waits in the dead-letter queue, with the original message
    assert invocation.attempts == 3
    sqs = stack.client("sqs")
    (kept,) = sqs.receive_message(QueueUrl=stack.output("AlertDeadLetterQueueUrl"))["Messages"]
    record = json.loads(kept["Body"])
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == notice
    assert "channel_not_found" in record["responsePayload"]["errorMessage"]
