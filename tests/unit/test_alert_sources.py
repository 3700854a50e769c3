"""Every alert source sample becomes the right alert: what, which resource, where, when, how severe."""

from __future__ import annotations

from typing import Any

import pytest

from shoplake.alerts.model import Alert, Category, Severity
from shoplake.alerts.slack_blocks import render
from shoplake.alerts.sources import read_alerts
from tests.conftest import OUR_EVENTS, aws_sample, aws_sample_names, our_event

ALERT_SOURCE_PREFIXES = ("cloudwatch_", "codestar_", "eventbridge_", "sns_")
NOT_ALERT_SOURCES = ("eventbridge_s3_", "eventbridge_scheduled_")

# file -> (title, severity, category, resource, account, region, occurred_at, dedupe_key)
EXPECTED: dict[str, tuple[str, Severity, Category, str, str | None, str | None, str | None, str]] = {
    "cloudwatch_alarm_lambda_action_payload__powertools.json": (
        "ALARM: Test alert", Severity.CRITICAL, Category.ALARM, "Test alert", "123456789012", "eu-west-1",
        "2024-02-17T11:53:08.431Z", "alarm:912397435824:eu-west-1:Test alert:ALARM:2024-02-17T11:53:08.431Z",
    ),
    "codestar_notification_codepipeline_execution_failed_processed__awsdocs.json": (
        "Pipeline myPipeline failed", Severity.CRITICAL, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-west-2", "2021-06-24T00:46:16.000Z", "pipeline:myPipeline:12345678-1234-5678-abcd-12345678abcd:FAILED",
    ),
    "eventbridge_codepipeline_stage_stopped__awsdocs.json": (
        "Pipeline myPipeline: stage Deploy was stopped", Severity.WARNING, Category.DEPLOYMENT, "myPipeline",
        "123456789012", "us-west-2", "2020-01-31T18:21:39.000Z",
        "pipeline-stage:myPipeline:12345678-1234-5678-abcd-12345678abcd:Deploy:STOPPED:1:",
    ),
    "eventbridge_codepipeline_stage_resumed_after_retry__awsdocs.json": (
        "Pipeline BuildFromTag: stage Build resumed", Severity.INFO, Category.DEPLOYMENT, "BuildFromTag",
        "123456789012", "eu-central-1", "2023-10-26T14:14:56.000Z",
        "pipeline-stage:BuildFromTag:05dafb6a-5a56-4951-a858-968795364846:Build:RESUMED:2:2023-10-26T14:14:56.305Z",
    ),
    "eventbridge_cloudwatch_alarm_state_change_anomaly_detection__awsdocs.json": (
        "ALARM: EC2 CPU Utilization Anomaly", Severity.CRITICAL, Category.ALARM, "EC2 CPU Utilization Anomaly",
        "123456789012", "us-east-1", "2019-10-03T16:00:04.653Z",
        "alarm:123456789012:us-east-1:EC2 CPU Utilization Anomaly:ALARM:2019-10-03T16:00:04.653Z",
    ),
    "eventbridge_cloudwatch_alarm_state_change_composite_with_suppressor__awsdocs.json": (
        "ALARM: ServiceAggregatedAlarm", Severity.CRITICAL, Category.ALARM, "ServiceAggregatedAlarm", "123456789012",
        "us-east-1", "2022-07-22T15:57:45.394Z",
        "alarm:123456789012:us-east-1:ServiceAggregatedAlarm:ALARM:2022-07-22T15:57:45.394Z",
    ),
    "eventbridge_cloudwatch_alarm_state_change_metric_math__awsdocs.json": (
        "ALARM: TotalNetworkTrafficTooHigh", Severity.CRITICAL, Category.ALARM, "TotalNetworkTrafficTooHigh",
        "123456789012", "us-east-1", "2019-10-02T17:20:48.554Z",
        "alarm:123456789012:us-east-1:TotalNetworkTrafficTooHigh:ALARM:2019-10-02T17:20:48.554Z",
    ),
    "eventbridge_cloudwatch_alarm_state_change_single_metric__awsdocs.json": (
        "ALARM: ServerCpuTooHigh", Severity.CRITICAL, Category.ALARM, "ServerCpuTooHigh", "123456789012",
        "us-east-1", "2019-10-02T17:04:40.989Z",
        "alarm:123456789012:us-east-1:ServerCpuTooHigh:ALARM:2019-10-02T17:04:40.989Z",
    ),
    "eventbridge_codepipeline_execution_failed__awsdocs.json": (
        "Pipeline myPipeline failed", Severity.CRITICAL, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-west-2", "2020-01-31T18:55:43.000Z", "pipeline:myPipeline:12345678-1234-5678-abcd-12345678abcd:FAILED",
    ),
    "eventbridge_codepipeline_execution_started__aws-lambda-go.json": (
        "Pipeline myPipeline started", Severity.INFO, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-east-1", "2017-04-22T03:31:47.000Z", "pipeline:myPipeline:01234567-0123-0123-0123-012345678901:STARTED",
    ),
    "eventbridge_codepipeline_execution_started__awsdocs.json": (
        "Pipeline myPipeline started", Severity.INFO, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-east-1", "2020-01-24T22:03:07.000Z", "pipeline:myPipeline:12345678-1234-5678-abcd-12345678abcd:STARTED",
    ),
    "eventbridge_codepipeline_execution_started_version_as_string__awsdocs-2021.json": (
        "Pipeline myPipeline started", Severity.INFO, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-east-1", "2017-04-22T03:31:47.000Z", "pipeline:myPipeline:01234567-0123-0123-0123-012345678901:STARTED",
    ),
    "eventbridge_codepipeline_execution_stopping__awsdocs.json": (
        "Pipeline myPipeline is stopping", Severity.WARNING, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-west-2", "2020-01-24T22:02:20.000Z", "pipeline:myPipeline:12345678-1234-5678-abcd-12345678abcd:STOPPING",
    ),
    "eventbridge_codepipeline_execution_succeeded__awsdocs.json": (
        "Pipeline myPipeline succeeded", Severity.SUCCESS, Category.DEPLOYMENT, "myPipeline", "123456789012",
        "us-east-1", "2020-01-24T22:03:44.000Z", "pipeline:myPipeline:12345678-1234-5678-abcd-12345678abcd:SUCCEEDED",
    ),
    "eventbridge_glue_data_quality_evaluation_results_available_catalog__awsdocs.json": (
        "Data quality db-123.table-123: passed all 100 rules", Severity.SUCCESS, Category.DATA_QUALITY,
        "db-123.table-123", "123456789012", "us-west-2", "2017-09-07T18:57:21.000Z", "glue-dq:dqresult-12334567890",
    ),
    "eventbridge_glue_job_state_change_failed__awsdocs.json": (
        "Glue job MyJob failed", Severity.CRITICAL, Category.ETL, "MyJob", "123456789012", "us-west-2",
        "2017-09-07T06:02:03.000Z", "glue-job:MyJob:jr_{JOB_RUN_ID}:FAILED",
    ),
    "eventbridge_glue_job_state_change_stopped__awsdocs.json": (
        "Glue job MyJob was stopped", Severity.WARNING, Category.ETL, "MyJob", "123456789012", "us-east-1",
        "2017-11-20T20:22:06.000Z", "glue-job:MyJob:jr_{JOB_RUN_ID}:STOPPED",
    ),
    "eventbridge_glue_job_state_change_succeeded__awsdocs.json": (
        "Glue job MyJob succeeded", Severity.SUCCESS, Category.ETL, "MyJob", "123456789012", "us-west-2",
        "2017-09-07T18:57:21.000Z", "glue-job:MyJob:jr_{JOB_RUN_ID}:SUCCEEDED",
    ),
    "eventbridge_glue_job_state_change_timeout__awsdocs.json": (
        "Glue job MyJob timed out", Severity.CRITICAL, Category.ETL, "MyJob", "123456789012", "us-east-1",
        "2017-11-20T20:22:06.000Z", "glue-job:MyJob:jr_{JOB_RUN_ID}:TIMEOUT",
    ),
    "eventbridge_stepfunctions_execution_aborted__awsdocs.json": (
        "state-machine was aborted", Severity.WARNING, Category.ETL, "state-machine", "012345678912", "us-east-1",
        "2019-02-26T23:50:17.576Z",
        "sfn:arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name:ABORTED",
    ),
    "eventbridge_stepfunctions_execution_failed__awsdocs.json": (
        "state-machine failed", Severity.CRITICAL, Category.ETL, "state-machine", "012345678912", "us-east-1",
        "2019-02-26T23:52:31.881Z",
        "sfn:arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name:FAILED",
    ),
    "eventbridge_stepfunctions_execution_failed_with_error_cause_redrive__aws-lambda-dotnet.json": (
        "state-machine failed", Severity.CRITICAL, Category.ETL, "state-machine", "123456789012", "us-east-2",
        "2019-02-26T23:52:31.881Z",
        "sfn:arn:aws:states:us-east-2:123456789012:execution:state-machine-name:execution-name:FAILED",
    ),
    "eventbridge_stepfunctions_execution_running__awsdocs.json": (
        "state-machine started", Severity.INFO, Category.ETL, "state-machine", "012345678912", "us-east-1",
        "2019-02-26T23:54:31.984Z",
        "sfn:arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name:RUNNING",
    ),
    "eventbridge_stepfunctions_execution_succeeded__awsdocs.json": (
        "state-machine succeeded", Severity.SUCCESS, Category.ETL, "state-machine", "012345678912", "us-east-1",
        "2019-01-10T19:34:00.122Z",
        "sfn:arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name:SUCCEEDED",
    ),
    "eventbridge_stepfunctions_execution_timed_out__awsdocs.json": (
        "state-machine timed out", Severity.CRITICAL, Category.ETL, "state-machine", "012345678912", "us-east-1",
        "2019-02-26T23:48:47.157Z",
        "sfn:arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name:TIMED_OUT",
    ),
    "sns_cloudwatch_alarm_metric_math_multiple_metrics__aws-lambda-go.json": (
        "ALARM: EXAMPLE", Severity.CRITICAL, Category.ALARM, "EXAMPLE", None, None,
        "2015-06-03T17:43:27.123Z", "alarm:-:-:EXAMPLE:ALARM:2015-06-03T17:43:27.123Z",
    ),
    "sns_cloudwatch_alarm_ok_escaped_quotes__terraform-aws-notify-slack.json": (
        "OK: DBMigrationRequired", Severity.SUCCESS, Category.ALARM, "DBMigrationRequired", "735598076380",
        "us-east-1", "2019-02-12T15:45:24.006Z",
        "alarm:735598076380:us-east-1:DBMigrationRequired:OK:2019-02-12T15:45:24.006Z",
    ),
    "sns_cloudwatch_alarm_single_metric__aws-lambda-go.json": (
        "ALARM: EXAMPLE", Severity.CRITICAL, Category.ALARM, "EXAMPLE", "123456789012", None,
        "2015-06-03T17:43:27.123Z", "alarm:123456789012:-:EXAMPLE:ALARM:2015-06-03T17:43:27.123Z",
    ),
    "sns_wrapping_eventbridge_glue_job_failed__terraform-aws-notify-slack.json": (
        "Glue job test_job failed", Severity.CRITICAL, Category.ETL, "test_job", "000000000000", "us-east-2",
        "2021-06-18T12:34:06.000Z",
        "glue-job:test_job:jr_ca2144d747b45ad412d3c66a1b6934b6b27aa252be9a21a95c54dfaa224a1925:FAILED",
    ),
}  # fmt: skip


def _only(event: dict[str, Any]) -> Alert:
    alerts = read_alerts(event)
    assert len(alerts) == 1
    return alerts[0]


def _job_run_id(event: dict[str, Any]) -> str:
    return str(event["detail"]["jobRunId"]).removeprefix("jr_")


def test_every_aws_alert_sample_has_an_expectation() -> None:
    # GIVEN every alert-source sample in tests/events
    samples = {n for n in aws_sample_names(*ALERT_SOURCE_PREFIXES) if not n.startswith(NOT_ALERT_SOURCES)}
    # THEN each is specified here (the Backup sample has its own test)
    assert samples - {"sns_aws_backup_job_notifications__terraform-aws-notify-slack.json"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_aws_sample_becomes_the_right_alert(name: str) -> None:
    # GIVEN a real sample event
    event = aws_sample(name)
    # WHEN it is read
    alert = _only(event)
    # THEN it says what happened, to what, where, when and how severe
    title, severity, category, resource, account, region, occurred_at, dedupe_key = EXPECTED[name]
    if "{JOB_RUN_ID}" in dedupe_key:
        dedupe_key = dedupe_key.replace("{JOB_RUN_ID}", _job_run_id(event))
    assert alert.title == title
    assert alert.severity is severity
    assert alert.category is category
    assert alert.resource == resource
    assert alert.account == account
    assert alert.region == region
    assert alert.occurred_at == occurred_at
    assert alert.dedupe_key == dedupe_key
    assert alert.recognised
    assert alert.summary
    if region:
        assert alert.console_url and alert.console_url.startswith(f"https://{region}.console.aws.amazon.com/")


def test_alarm_message_explains_the_metric_and_the_reason() -> None:
    alert = _only(aws_sample("sns_cloudwatch_alarm_single_metric__aws-lambda-go.json"))
    fields = dict(alert.fields)
    assert fields["State"] == "INSUFFICIENT_DATA → ALARM"
    assert fields["Metric"] == "AWS/EC2/NetworkOut (average, InstanceId=TestInstance) > 0.0 over 1 × 60s"
    assert fields["Reason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1234.0")


def test_metric_math_alarm_names_its_expression() -> None:
    sns_alert = _only(aws_sample("sns_cloudwatch_alarm_metric_math_multiple_metrics__aws-lambda-go.json"))
    assert dict(sns_alert.fields)["Metric"] == "metric math m1*1 > 0.0 over 1 × 60s"
    eb_alert = _only(aws_sample("eventbridge_cloudwatch_alarm_state_change_metric_math__awsdocs.json"))
    assert dict(eb_alert.fields)["Metric"] == "Total Network Traffic = SUM(METRICS())"
    assert "Goes into alarm if total network traffic exceeds 10Kb" in eb_alert.summary


def test_composite_alarm_shows_its_rule_and_suppression() -> None:
    alert = _only(aws_sample("eventbridge_cloudwatch_alarm_state_change_composite_with_suppressor__awsdocs.json"))
    fields = dict(alert.fields)
    assert fields["Composite rule"] == "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)"
    assert fields["Actions suppressor"] == "ServiceMaintenanceAlarm"
    assert fields["Actions suppressed"] == "Actions suppressed by WaitPeriod"


def test_anomaly_detection_alarm_is_labelled_as_such() -> None:
    alert = _only(aws_sample("eventbridge_cloudwatch_alarm_state_change_anomaly_detection__awsdocs.json"))
    assert dict(alert.fields)["Detector"] == "anomaly detection band"


def test_ok_alarm_keeps_the_description_with_its_quotes() -> None:
    alert = _only(aws_sample("sns_cloudwatch_alarm_ok_escaped_quotes__terraform-aws-notify-slack.json"))
    assert 'App is reporting "A JPA error occurred(Unable to build EntityManagerFactory)"' in alert.summary
    assert "is OK again (was ALARM)" in alert.summary


def test_failed_pipeline_names_the_failed_stage_and_action() -> None:
    alert = _only(aws_sample("codestar_notification_codepipeline_execution_failed_processed__awsdocs.json"))
    fields = dict(alert.fields)
    assert fields["Failed stage"] == "Deploy"
    assert fields["Action Deploy"] == "Deployment <ID> failed"
    assert "The Deploy stage failed" in alert.summary


def test_started_pipeline_says_what_triggered_it() -> None:
    alert = _only(aws_sample("eventbridge_codepipeline_execution_started__awsdocs.json"))
    assert dict(alert.fields)["Triggered by"].startswith("StartPipelineExecution")


def test_glue_failure_quotes_the_job_error() -> None:
    alert = _only(aws_sample("sns_wrapping_eventbridge_glue_job_failed__terraform-aws-notify-slack.json"))
    assert "> SystemExit: 1" in alert.summary
    assert dict(alert.fields)["Message"] == "SystemExit: 1"


def test_data_quality_with_failed_rules_is_a_warning() -> None:
    event = aws_sample("eventbridge_glue_data_quality_evaluation_results_available_catalog__awsdocs.json")
    event["detail"].update(rulesFailed=3, rulesSucceeded=97, score=0.97)
    alert = _only(event)
    assert alert.severity is Severity.WARNING
    assert alert.title == "Data quality db-123.table-123: failed 3 of 100 rules"
    assert dict(alert.fields)["Score"] == "97%"


def test_stepfunctions_failure_carries_error_cause_and_duration() -> None:
    alert = _only(
        aws_sample("eventbridge_stepfunctions_execution_failed_with_error_cause_redrive__aws-lambda-dotnet.json")
    )
    fields = dict(alert.fields)
    assert fields["Duration"] == "0m 05s"
    assert "Error" in fields
    assert "Cause" in fields


def test_backup_notifications_are_one_alert_per_job_state() -> None:
    # GIVEN AWS Backup's plain-text SNS notifications, three of them under one SNS message id
    alerts = read_alerts(aws_sample("sns_aws_backup_job_notifications__terraform-aws-notify-slack.json"))
    # THEN each is its own alert, with its own dedupe key
    assert [(a.title, a.severity) for a in alerts] == [
        ("AWS Backup backup job completed", Severity.SUCCESS),
        ("AWS Backup backup job failed", Severity.CRITICAL),
        ("AWS Backup backup job expired", Severity.CRITICAL),
        ("AWS Backup copy job failed", Severity.CRITICAL),
    ]
    assert len({a.dedupe_key for a in alerts}) == 4
    assert alerts[1].resource == "arn:aws:ec2:us-west-1:123456789012:volume/vol-012f345df6789012e"
    assert alerts[1].region == "us-west-1"
    assert alerts[1].console_url == (
        "https://us-west-1.console.aws.amazon.com/backup/home?region=us-west-1"
        "#/jobs/backup/details/1b2345b2-f22c-4dab-5eb6-bbc7890ed123"
    )
    assert alerts[3].summary.startswith("An AWS Copy job was completed but was failed or was aborted")


def test_same_alarm_transition_through_sns_and_eventbridge_shares_one_key() -> None:
    via_sns = _only(our_event("slack_notifier/sns_alarm_web_5xx.json"))
    via_eventbridge = _only(our_event("slack_notifier/eventbridge_alarm_web_5xx.json"))
    assert via_sns.dedupe_key == via_eventbridge.dedupe_key
    assert via_sns.region == via_eventbridge.region == "ap-northeast-2"


def test_shoplake_notice_is_read_with_its_own_severity_and_fields() -> None:
    alert = _only(our_event("slack_notifier/sns_notice_survey_rejected.json"))
    assert alert.severity is Severity.WARNING
    assert alert.category is Category.INGESTION
    assert alert.title == "Survey file quarantined: 2026-11 지하철 광고 설문.xlsx"
    quarantined = "s3://shoplake-dev-surveys-123456789012/quarantine/2026-11 지하철 광고 설문.xlsx"
    assert dict(alert.fields)["File now"] == quarantined
    assert alert.dedupe_key == "notice:5b1f6c9e-2f57-4c0a-9a39-8d7b1e2c3f40"


def test_unknown_eventbridge_event_is_still_readable() -> None:
    # GIVEN an event no reader knows
    alert = _only(our_event("slack_notifier/eventbridge_unrecognised_ec2_state_change.json"))
    # THEN it still has a title, its source, its detail type and its key fields
    assert not alert.recognised
    assert alert.title == "EC2 Instance State-change Notification (aws.ec2)"
    fields = dict(alert.fields)
    assert fields["Source"] == "aws.ec2"
    assert fields["instance-id"] == "i-0abcd1234ef567890"
    assert fields["state"] == "terminated"
    assert alert.dedupe_key == "event:7bf73129-1428-4cd3-a780-95db273d1602"


def test_known_source_with_missing_field_names_the_field() -> None:
    event = aws_sample("eventbridge_glue_job_state_change_failed__awsdocs.json")
    del event["detail"]["jobName"]
    alert = _only(event)
    assert not alert.recognised
    assert "field 'jobName' is missing" in alert.summary


def test_unknown_sns_text_message_is_shown_as_text() -> None:
    event = our_event("slack_notifier/sns_alarm_web_5xx.json")
    event["Records"][0]["Sns"].update(Message="Disk almost full on the office NAS", Subject="NAS warning")
    alert = _only(event)
    assert not alert.recognised
    assert alert.title == "NAS warning"
    assert "Disk almost full on the office NAS" in alert.summary
    assert alert.resource == "shoplake-dev-alerts"


def test_a_broken_notice_is_delivered_as_unrecognised_naming_the_field() -> None:
    event = our_event("slack_notifier/sns_notice_survey_rejected.json")
    event["Records"][0]["Sns"]["Message"] = event["Records"][0]["Sns"]["Message"].replace('"warning"', '"loud"')
    alert = _only(event)
    assert not alert.recognised
    assert "field 'severity'" in alert.summary


def test_payload_of_no_known_shape_is_still_an_alert() -> None:
    alert = _only({"hello": "world"})
    assert not alert.recognised
    assert dict(alert.fields)["hello"] == "world"


# events/slack_notifier/<file> -> the fallback line's start: severity, title
OUR_SAMPLES = {
    "eventbridge_alarm_web_5xx.json": "[Critical] ALARM: shoplake-dev-web-5xx",
    "eventbridge_glue_job_failed.json": "[Critical] Glue job shoplake-dev-clean failed",
    "eventbridge_nightly_etl_failed.json": "[Critical] shoplake-dev-nightly-etl failed",
    "eventbridge_pipeline_failed.json": "[Critical] Pipeline shoplake-dev-delivery failed",
    "eventbridge_unrecognised_ec2_state_change.json": "[Info] EC2 Instance State-change Notification (aws.ec2)",
    "sns_alarm_web_5xx.json": "[Critical] ALARM: shoplake-dev-web-5xx",
    "sns_alarm_web_5xx_again.json": "[Critical] ALARM: shoplake-dev-web-5xx",
    "sns_alarm_web_5xx_insufficient_data.json": "[Warning] INSUFFICIENT_DATA: shoplake-dev-web-5xx",
    "sns_alarm_web_5xx_ok.json": "[OK] OK: shoplake-dev-web-5xx",
    "sns_notice_survey_rejected.json": "[Warning] Survey file quarantined: 2026-11 지하철 광고 설문.xlsx",
}


def test_every_sample_in_events_is_specified() -> None:
    assert {p.name for p in OUR_EVENTS.glob("slack_notifier/*.json")} == set(OUR_SAMPLES)


@pytest.mark.parametrize("name", sorted(OUR_SAMPLES))
def test_our_sample_becomes_the_right_message(name: str) -> None:
    (alert,) = read_alerts(our_event(f"slack_notifier/{name}"))
    assert render(alert).text.startswith(OUR_SAMPLES[name] + " — ")
    assert alert.account == "123456789012"
    assert alert.region == "ap-northeast-2"


def test_nightly_etl_failure_names_the_failing_step_and_error() -> None:
    (alert,) = read_alerts(our_event("slack_notifier/eventbridge_nightly_etl_failed.json"))
    fields = dict(alert.fields)
    assert fields["Error"] == "Glue.ConcurrentRunsExceededException"
    assert fields["Cause"] == "Clean step: Concurrent runs exceeded for shoplake-dev-clean"
    assert fields["Duration"] == "22m 00s"
