"""Every alert source names the happening it belongs to (`Alert.thread`): one key for its whole life."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from shoplake.alerts.model import Alert, Phase, ThreadRef
from shoplake.alerts.sources import read_alerts
from tests.conftest import aws_sample, our_event

EXECUTION_ARN = "arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name"


def _only(payload: dict[str, Any]) -> Alert:
    (alert,) = read_alerts(payload)
    assert alert.recognised, alert.summary
    return alert


def _thread(payload: dict[str, Any]) -> ThreadRef:
    thread = _only(payload).thread
    assert thread is not None
    return thread


def _sns_message(payload: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(payload["Records"][0]["Sns"]["Message"])
    return message


def _with_sns_message(payload: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    changed["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return changed


# --- CloudWatch alarms -------------------------------------------------------------------------------------


def test_one_alarm_through_sns_eventbridge_and_a_lambda_action_has_one_thread() -> None:
    # GIVEN the same alarm's transition as its SNS action and EventBridge deliver it
    via_sns = _thread(our_event("slack_notifier/sns_alarm_web_5xx.json"))
    via_eventbridge = _thread(our_event("slack_notifier/eventbridge_alarm_web_5xx.json"))
    # AND as a Lambda alarm action would (AWS's sample, made the same alarm's)
    action = aws_sample("cloudwatch_alarm_lambda_action_payload__powertools.json")
    action |= {
        "alarmArn": "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:shoplake-dev-web-5xx",
        "accountId": "123456789012",
        "region": "ap-northeast-2",
    }
    action["alarmData"]["alarmName"] = "shoplake-dev-web-5xx"
    via_action = _thread(action)
    # THEN all three open the one thread of that alarm
    key = "alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx"
    assert via_sns == via_eventbridge == via_action == ThreadRef(key, "ALARM", Phase.OPEN)


def test_aws_sns_and_eventbridge_samples_of_one_alarm_share_the_key() -> None:
    # GIVEN AWS's EventBridge sample of ServerCpuTooHigh
    event = aws_sample("eventbridge_cloudwatch_alarm_state_change_single_metric__awsdocs.json")
    # AND the SNS sample's message carrying that alarm, as an SNS action without AlarmArn writes it
    sns = aws_sample("sns_cloudwatch_alarm_single_metric__aws-lambda-go.json")
    message = _sns_message(sns) | {
        "AlarmName": "ServerCpuTooHigh",
        "AWSAccountId": "123456789012",
        "Region": "US East (N. Virginia)",
    }
    del message["AlarmArn"]
    # WHEN both are read
    # THEN the account and region the SNS message names give the key the event's alarm ARN gives
    assert _thread(_with_sns_message(sns, message)).key == _thread(event).key
    assert _thread(event).key == "alarm:123456789012:us-east-1:ServerCpuTooHigh"


def test_the_alarm_arn_names_the_thread_even_when_the_payload_account_differs() -> None:
    # GIVEN AWS's Lambda-action sample, whose accountId is not its alarm ARN's account
    action = aws_sample("cloudwatch_alarm_lambda_action_payload__powertools.json")
    # THEN the key is the alarm's own account and region, as the alarm's other copies would name it
    assert _thread(action).key == "alarm:912397435824:eu-west-1:Test alert"


@pytest.mark.parametrize(
    ("state", "phase"), [("ALARM", Phase.OPEN), ("INSUFFICIENT_DATA", Phase.PROGRESS), ("OK", Phase.CLOSE)]
)
def test_an_alarm_state_opens_steps_or_closes_its_thread(state: str, phase: Phase) -> None:
    # GIVEN the alarm in each state, through SNS and through EventBridge
    sns = our_event("slack_notifier/sns_alarm_web_5xx.json")
    sns = _with_sns_message(sns, _sns_message(sns) | {"NewStateValue": state})
    event = our_event("slack_notifier/eventbridge_alarm_web_5xx.json")
    event["detail"]["state"]["value"] = state
    # THEN the state is told as itself and does the same to the thread either way
    assert _thread(sns) == _thread(event)
    assert _thread(sns).state == state
    assert _thread(sns).phase is phase


def test_an_alarm_without_account_or_region_still_has_a_key_of_its_own() -> None:
    # GIVEN the aws-lambda-go SNS sample: AlarmArn and Region are placeholders, the topic ARN too
    thread = _thread(aws_sample("sns_cloudwatch_alarm_single_metric__aws-lambda-go.json"))
    # THEN what is unknown is a dash, never another alarm's value
    assert thread.key == "alarm:123456789012:-:EXAMPLE"


# --- CodePipeline ------------------------------------------------------------------------------------------

PIPELINE_KEY = "pipeline:myPipeline:12345678-1234-5678-abcd-12345678abcd"


@pytest.mark.parametrize(
    ("sample", "state", "phase"),
    [
        ("eventbridge_codepipeline_execution_started__awsdocs.json", "STARTED", Phase.OPEN),
        ("eventbridge_codepipeline_execution_stopping__awsdocs.json", "STOPPING", Phase.PROGRESS),
        ("eventbridge_codepipeline_execution_failed__awsdocs.json", "FAILED", Phase.CLOSE),
        ("eventbridge_codepipeline_execution_succeeded__awsdocs.json", "SUCCEEDED", Phase.CLOSE),
        ("codestar_notification_codepipeline_execution_failed_processed__awsdocs.json", "FAILED", Phase.CLOSE),
    ],
)
def test_a_pipeline_execution_is_one_thread_from_start_to_end(sample: str, state: str, phase: Phase) -> None:
    assert _thread(aws_sample(sample)) == ThreadRef(PIPELINE_KEY, state, phase)


@pytest.mark.parametrize(
    ("state", "phase"),
    [("RESUMED", Phase.OPEN), ("STOPPED", Phase.CLOSE), ("SUPERSEDED", Phase.CLOSE), ("CANCELED", Phase.CLOSE)],
)
def test_every_end_of_an_execution_closes_and_a_retry_reopens(state: str, phase: Phase) -> None:
    event = aws_sample("eventbridge_codepipeline_execution_started__awsdocs.json")
    event["detail"]["state"] = state
    assert _thread(event).phase is phase


def test_a_stage_result_is_a_step_in_its_execution_thread() -> None:
    # GIVEN AWS's sample of a stage stopped, in the execution of the pipeline samples
    stage = _thread(aws_sample("eventbridge_codepipeline_stage_stopped__awsdocs.json"))
    # THEN it replies in the execution's thread, naming the stage
    assert stage == ThreadRef(PIPELINE_KEY, "Deploy: STOPPED", Phase.PROGRESS)


def test_a_failed_stage_is_critical_and_a_retried_one_is_told_again() -> None:
    # GIVEN a stage that failed, then failed again after a retry (the execution's next attempt)
    event = aws_sample("eventbridge_codepipeline_stage_stopped__awsdocs.json")
    event["detail"]["state"] = "FAILED"
    first = _only(event)
    event["detail"]["pipeline-execution-attempt"] = 2.0
    second = _only(event)
    # THEN each is told: the same thread, two happenings
    assert first.severity.value == "critical"
    assert first.thread == second.thread
    assert first.thread is not None and first.thread.state == "Deploy: FAILED"
    assert first.dedupe_key != second.dedupe_key


def test_an_execution_event_without_an_execution_id_has_no_thread() -> None:
    event = aws_sample("eventbridge_codepipeline_execution_failed__awsdocs.json")
    del event["detail"]["execution-id"]
    assert _only(event).thread is None


# --- Step Functions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "status", "phase"),
    [
        ("eventbridge_stepfunctions_execution_running__awsdocs.json", "RUNNING", Phase.OPEN),
        ("eventbridge_stepfunctions_execution_succeeded__awsdocs.json", "SUCCEEDED", Phase.CLOSE),
        ("eventbridge_stepfunctions_execution_failed__awsdocs.json", "FAILED", Phase.CLOSE),
        ("eventbridge_stepfunctions_execution_timed_out__awsdocs.json", "TIMED_OUT", Phase.CLOSE),
        ("eventbridge_stepfunctions_execution_aborted__awsdocs.json", "ABORTED", Phase.CLOSE),
    ],
)
def test_a_run_is_one_thread_keyed_by_its_execution_arn(sample: str, status: str, phase: Phase) -> None:
    assert _thread(aws_sample(sample)) == ThreadRef(f"sfn:{EXECUTION_ARN}", status, phase)


def test_the_nightly_etl_failure_event_names_its_run_thread() -> None:
    event = our_event("slack_notifier/eventbridge_nightly_etl_failed.json")
    thread = _thread(event)
    assert thread.key == f"sfn:{event['detail']['executionArn']}"
    assert thread.phase is Phase.CLOSE


@pytest.mark.parametrize("attempt", [float("inf"), float("nan"), "2", None, True])
def test_a_stage_event_with_an_odd_attempt_is_still_read(attempt: object) -> None:
    event = aws_sample("eventbridge_codepipeline_stage_stopped__awsdocs.json")
    event["detail"]["pipeline-execution-attempt"] = attempt
    assert _thread(event) == ThreadRef(PIPELINE_KEY, "Deploy: STOPPED", Phase.PROGRESS)
