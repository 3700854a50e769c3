"""Every upload is its own version, and the uploader always hears: the pure parts, and what the template promises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack import sample_surveys
from local_stack.template import function_properties, load_template
from shoplake import lake_layout
from shoplake.alerts.model import Category, Severity
from shoplake.alerts.slack_blocks import render
from shoplake.alerts.sources import read_alerts
from shoplake.notices import Notice, NoticeKind, publish, subject_text
from shoplake.s3_notifications import ObjectCreated, objects_created
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import IngestConfig, Outcome, OutOfTimeError, ingest
from shoplake.surveys.links import LINK_LIFETIME
from shoplake.surveys.report import notice_for
from tests.conftest import aws_sample

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARSER_ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:shoplake-dev-survey-parser:$LATEST"


def _upload(version_id: str | None, sequencer: str = "0055AED6DCD90281E5") -> ObjectCreated:
    return ObjectCreated("surveys", "inbox/survey.xlsx", version_id, 10, "etag", sequencer)


# ---------------------------------------------------------------- which version an event names


def test_the_version_an_s3_notification_names_is_read() -> None:
    (created,) = objects_created(aws_sample("s3_objectcreated_put__awsdocs.json"))
    assert created.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"


@pytest.mark.parametrize(
    "sample", ["s3_objectcreated_put__powertools.json", "s3_objectcreated_put__samcli_generated_default.json"]
)
def test_an_unversioned_bucket_gives_no_version(sample: str) -> None:
    assert all(created.version_id is None for created in objects_created(aws_sample(sample)))


def test_the_literal_null_version_is_no_version() -> None:
    event = aws_sample("s3_objectcreated_put__awsdocs.json")
    event["Records"][0]["s3"]["object"]["versionId"] = "null"
    assert objects_created(event)[0].version_id is None


def test_an_eventbridge_object_created_event_names_its_version_and_plain_key() -> None:
    (created,) = objects_created(aws_sample("eventbridge_s3_object_created__awsdocs.json"))
    assert created == ObjectCreated(
        bucket="DOC-EXAMPLE-BUCKET1",
        key="example-key",
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        size=5,
        etag="b1946ac92492d2347c6235b4d2611184",
        sequencer="617f08299329d189",
    )


def test_two_uploads_of_one_name_have_two_ids_and_a_redelivery_has_the_same_one() -> None:
    first, second = _upload("v1"), _upload("v2", sequencer="0055AED6DCD90281F0")
    assert first.upload_id != second.upload_id
    assert _upload("v1").upload_id == first.upload_id
    # without versions, the sequencer tells uploads apart
    assert _upload(None, "01").upload_id != _upload(None, "02").upload_id


def test_each_upload_is_filed_under_its_own_name_that_keeps_its_type() -> None:
    assert lake_layout.moved_key("inbox/2026/설문.xlsx", "processed/", "abc") == "processed/2026/설문.abc.xlsx"
    assert lake_layout.moved_key("inbox/README", "quarantine/", "abc") == "quarantine/README.abc"


# ---------------------------------------------------------------- the lifecycle


def _rule_prefix(rule: Mapping[str, Any]) -> str:
    return str(rule.get("Prefix") or (rule.get("Filter") or {}).get("Prefix") or "")


def test_the_lifecycle_never_expires_an_upload_nobody_has_read() -> None:
    # GIVEN the survey bucket's lifecycle rules as the template declares them
    rules = RESOURCES["SurveyBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if {"ExpirationInDays", "NoncurrentVersionExpiration", "ExpirationDate"} & set(r)]
    # THEN no rule that deletes objects or versions applies to a key in the inbox
    inbox_key = f"{lake_layout.SURVEY_INBOX}2026/survey.xlsx"
    assert [r["Id"] for r in expiring if inbox_key.startswith(_rule_prefix(r))] == []
    # AND the filed copies' retried versions still expire, and the marked-up copies once their link has
    assert {_rule_prefix(r) for r in expiring} == {
        lake_layout.SURVEY_PROCESSED,
        lake_layout.SURVEY_QUARANTINE,
        lake_layout.SURVEY_MARKED,
    }
    (marked,) = [r for r in expiring if _rule_prefix(r) == lake_layout.SURVEY_MARKED]
    assert marked["ExpirationInDays"] > LINK_LIFETIME.days


def test_the_parser_may_remove_the_inbox_version_it_filed() -> None:
    statements = [
        s for p in function_properties(TEMPLATE, "SurveyParserFunction")["Policies"] for s in p.get("Statement", [])
    ]
    (remove,) = [s for s in statements if "s3:DeleteObjectVersion" in s.get("Action", [])]
    assert remove["Resource"]["Fn::Sub"].endswith(f"/{lake_layout.SURVEY_INBOX}*")
    # and nothing but the inbox may have versions deleted or read (the prefixes shoplake.lake_layout names)
    assert remove["Action"] == ["s3:GetObjectVersion", "s3:DeleteObjectVersion"]


# ---------------------------------------------------------------- the uploader always hears


def test_a_failed_parser_invocation_goes_to_a_topic_the_notifier_reads() -> None:
    on_failure = function_properties(TEMPLATE, "SurveyParserFunction")["EventInvokeConfig"]["DestinationConfig"][
        "OnFailure"
    ]
    notifier_topics = [
        e["Properties"]["Topic"]
        for e in function_properties(TEMPLATE, "SlackNotifierFunction")["Events"].values()
        if e["Type"] == "SNS"
    ]
    assert on_failure["Type"] == "SNS"
    assert on_failure["Destination"] in notifier_topics


class _SnsThatChecksSubjects:
    """Publishes nothing; refuses a Subject as the SNS Publish API reference says SNS does."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    def publish(self, **kwargs: Any) -> Mapping[str, Any]:
        subject = kwargs["Subject"]
        if len(subject) >= 100 or not subject.isascii() or any(not c.isprintable() for c in subject):
            raise ValueError(f"InvalidParameter: Subject {subject!r}")
        self.subjects.append(subject)
        return {"MessageId": "m-1"}


@pytest.mark.parametrize(
    "title",
    [
        "Survey ingested: 3월\n설문.xlsx (5 rows)",
        "Survey file quarantined: a\r\nb\tc.csv",
        "Survey ingested: " + "x" * 120 + ".xlsx",
        "Survey ingested: " + "가" * 150,
        "\u2028\n",
    ],
)
def test_any_title_makes_a_subject_sns_accepts(title: str) -> None:
    # GIVEN a notice whose title carries what a file name may hold
    notice = Notice(NoticeKind.INGESTION_SUMMARY, Severity.SUCCESS, title, "s", "s3://b/k")
    sns = _SnsThatChecksSubjects()
    # WHEN it is published
    publish(sns, "arn:aws:sns:ap-northeast-2:123456789012:alerts", notice)
    # THEN SNS takes the subject: one line of ASCII under 100 characters
    (subject,) = sns.subjects
    assert subject.strip() and len(subject) <= 99
    assert subject_text(title) == subject


def test_a_retry_of_one_upload_repeats_the_same_notice_id() -> None:
    outcome = Outcome(
        status="ingested", source="s3://b/inbox/a.csv", file_name="a.csv", upload_id="abc", rows_ingested=3
    )
    assert notice_for(outcome).notice_id == notice_for(outcome).notice_id == "survey:abc:ingested"


def test_a_file_name_with_a_line_break_is_shown_on_one_line() -> None:
    outcome = Outcome(status="ingested", source="s3://b/inbox/a\nb.csv", file_name="a\nb.csv", upload_id="abc")
    notice = notice_for(outcome)
    assert "\n" not in notice.title
    assert "a\\nb.csv" in notice.title


def _sns_event(message: Mapping[str, Any]) -> dict[str, Any]:
    topic = "arn:aws:sns:ap-northeast-2:123456789012:shoplake-dev-alerts"
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"TopicArn": topic, "Message": json.dumps(message)}}]}


def test_the_aws_docs_failure_record_becomes_a_critical_alert_naming_the_function_and_error() -> None:
    # GIVEN Lambda's own example of an on-failure record, delivered through SNS
    (alert,) = read_alerts(_sns_event(aws_sample("lambda_destination_on_failure_retries_exhausted__awsdocs.json")))
    # THEN it is a recognised, critical alert that says which function failed, how and why
    assert alert.recognised
    assert alert.title == "my-function failed"
    assert alert.severity is Severity.CRITICAL
    assert alert.account == "123456789012" and alert.region == "us-east-1"
    assert alert.dedupe_key == "lambda-failure:e4b46cbf-b738-xmpl-8880-a18cdf61200e"
    assert "failed on every attempt (3 attempts)" in alert.summary
    assert "Process exited before completing request" in alert.summary


def _parser_failure(key: str, error: Mapping[str, Any]) -> dict[str, Any]:
    record = aws_sample("lambda_destination_on_failure_retries_exhausted__awsdocs.json")
    record["requestContext"]["functionArn"] = PARSER_ARN
    record["requestPayload"] = aws_sample("s3_objectcreated_put__awsdocs.json")
    record["requestPayload"]["Records"][0]["s3"]["object"]["key"] = key
    record["responsePayload"] = error
    return record


def test_a_timed_out_survey_reaches_slack_naming_the_file_and_what_to_do() -> None:
    # GIVEN the parser timed out on every attempt on a file whose name holds a line break and markup
    record = _parser_failure(
        "inbox/%3C%21channel%3E+%26+a%0Ab.xlsx",
        {"errorMessage": "2026-11-30T09:00:00.000Z abc Task timed out after 600.00 seconds"},
    )
    # WHEN the notifier reads the record
    (alert,) = read_alerts(_sns_event(record))
    message = render(alert)
    # THEN the alert names the file, with its version, and says to split it
    assert alert.category is Category.INGESTION
    assert alert.title == "shoplake-dev-survey-parser could not handle <!channel> & a\\nb.xlsx"
    assert "split it into smaller files" in alert.summary
    assert ("File", "s3://mybucket/inbox/<!channel> & a\\nb.xlsx (version 096fKKXTRTtl3on89fVO.nfljtsv6qko)") in (
        alert.fields
    )
    # AND what reaches Slack's mrkdwn cannot mention a channel
    assert "<!channel>" not in message.text
    assert "&lt;!channel&gt; &amp; a\\nb.xlsx" in message.text


# ---------------------------------------------------------------- an unversioned bucket


@mock_aws
def test_without_versions_a_file_replaced_before_it_was_read_is_told_not_ingested_twice() -> None:
    # GIVEN an unversioned bucket where a second file replaced the first before the first event ran
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="surveys")
    s3.create_bucket(Bucket="lake")
    first = s3.put_object(Bucket="surveys", Key="inbox/a.csv", Body=b"first")
    s3.put_object(Bucket="surveys", Key="inbox/a.csv", Body=b"second")
    upload = ObjectCreated("surveys", "inbox/a.csv", None, 5, first["ETag"].strip('"'), "01")
    told: list[Outcome] = []
    config = IngestConfig(lake_bucket="lake", forms=all_forms(), max_upload_bytes=2**20, memory_budget_bytes=2**24)
    # WHEN the first file's event runs
    outcome = ingest(s3, upload, config, told.append)
    # THEN the uploader is told it was replaced, and the second file is left for its own event
    assert outcome.status == "superseded"
    assert told == [outcome]
    assert notice_for(outcome).title == "Survey file replaced before it was read: a.csv"
    assert s3.get_object(Bucket="surveys", Key="inbox/a.csv")["Body"].read() == b"second"
    assert "Contents" not in s3.list_objects_v2(Bucket="lake")


@mock_aws
def test_a_file_read_too_slowly_to_write_in_time_writes_nothing_and_stays_in_the_inbox(tmp_path: Path) -> None:
    # GIVEN a survey in a versioned inbox, and an invocation with 5 seconds left once the file is read
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("surveys", "lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="surveys", VersioningConfiguration={"Status": "Enabled"})
    body = sample_surveys.write_survey_csv(tmp_path / "a.csv", rows=5, encoding="utf-8").read_bytes()
    put = s3.put_object(Bucket="surveys", Key="inbox/a.csv", Body=body)
    upload = ObjectCreated("surveys", "inbox/a.csv", put["VersionId"], len(body), put["ETag"].strip('"'), "01")
    told: list[Outcome] = []
    config = IngestConfig(lake_bucket="lake", forms=all_forms(), max_upload_bytes=2**20, memory_budget_bytes=2**24)
    # WHEN it is ingested
    with pytest.raises(OutOfTimeError, match="would have timed out"):
        ingest(s3, upload, config, told.append, seconds_left=lambda: 5.0)
    # THEN nothing is in the lake and nobody was told (the failure record will tell), and the file waits
    assert "Contents" not in s3.list_objects_v2(Bucket="lake")
    assert told == []
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="surveys")["Contents"]] == ["inbox/a.csv"]
