"""shoplake's own notices: one typed format, published to the alert topic, read back intact."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from shoplake.alerts.model import Severity
from shoplake.notices import SCHEMA, Notice, NoticeError, NoticeKind, publish

NOTICE = Notice(
    kind=NoticeKind.INGESTION_SUMMARY,
    severity=Severity.INFO,
    title="Survey ingested: 설문 11월.csv",
    summary="412 rows ingested, 3 rejected.",
    resource="s3://shoplake-dev-surveys-123456789012/inbox/설문 11월.csv",
    fields={"Rows": "412", "Rejected": "3"},
)


def test_notice_round_trips_through_its_message() -> None:
    assert Notice.from_message(json.loads(NOTICE.to_message())) == NOTICE


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schema": "other/v9"}, "'schema'"),
        ({"kind": "party"}, "'kind'"),
        ({"severity": "loud"}, "'severity'"),
        ({"title": ""}, "'title'"),
        ({"fields": ["a"]}, "'fields'"),
    ],
)
def test_broken_notice_names_the_field(change: dict, field: str) -> None:
    message = {**json.loads(NOTICE.to_message()), **change}
    with pytest.raises(NoticeError, match=field):
        Notice.from_message(message)


@mock_aws
def test_publish_puts_the_notice_on_the_topic_with_an_ascii_subject() -> None:
    # GIVEN a topic with a queue subscribed
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # WHEN a notice with a Korean title is published
    publish(sns, topic, NOTICE)
    # THEN the message is the notice and the subject is SNS-safe
    body = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert json.loads(body["Message"])["schema"] == SCHEMA
    assert Notice.from_message(json.loads(body["Message"])) == NOTICE
    assert body["Subject"].isascii()
    assert body["Subject"].startswith("Survey ingested:")
