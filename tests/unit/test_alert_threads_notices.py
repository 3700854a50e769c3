"""shoplake's own notices name their thread: the nightly ETL's run, a survey upload and its partitions' checks."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.events.models import EventPattern

from local_stack.template import ROOT, Resolver, load_template
from shoplake.alerts.model import Alert, Phase, Severity, ThreadRef
from shoplake.alerts.sources import read_alerts
from shoplake.notices import SCHEMA, Notice, NoticeError, NoticeKind
from shoplake.surveys import upload_thread
from shoplake.surveys.ingest import Outcome
from shoplake.surveys.report import notice_for
from shoplake_etl.survey_quality import upload_of_object
from tests.conftest import aws_sample

TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:shoplake-dev-alerts"
UPLOAD = "s3://shoplake-dev-surveys-123456789012/inbox/2026-11 지하철 광고 설문 (1)+%.xlsx"
PARTITION = "s3://shoplake-dev-lake/surveys/survey_offline_ads/year=2026/month=11/day=23/"


def _sns(message: str) -> dict[str, Any]:
    return {"Records": [{"Sns": {"Message": message, "TopicArn": TOPIC, "Subject": "x"}}]}


def _only(payload: dict[str, Any]) -> Alert:
    (alert,) = read_alerts(payload)
    return alert


def _notice(**changes: Any) -> Notice:
    return Notice(
        kind=NoticeKind.NIGHTLY_RUN, severity=Severity.SUCCESS, title="t", summary="s", resource="r", **changes
    )


# --- the notice format -------------------------------------------------------------------------------------


def test_a_notice_carries_its_thread_to_the_alert() -> None:
    # GIVEN a notice that is a step in a run's thread
    thread = ThreadRef("sfn:arn:aws:states:ap-northeast-2:123456789012:execution:m:e", "published", Phase.PROGRESS)
    message = _notice(thread=thread).to_message()
    # WHEN it is published and read back
    alert = _only(_sns(message))
    # THEN the alert replies in that thread
    assert json.loads(message)["thread"] == {"key": thread.key, "state": "published", "phase": "progress"}
    assert alert.recognised
    assert alert.thread == thread


def test_a_notice_without_a_thread_is_a_message_of_its_own_as_before() -> None:
    message = _notice().to_message()
    assert "thread" not in json.loads(message)
    assert _only(_sns(message)).thread is None
    assert Notice.from_message(json.loads(message) | {"thread": None}).thread is None


@pytest.mark.parametrize(
    ("thread", "field"),
    [
        ("sfn:x", "'thread'"),
        ({"state": "s", "phase": "open"}, "'thread.key'"),
        ({"key": "k", "state": "", "phase": "open"}, "'thread.state'"),
        ({"key": "k", "state": 3, "phase": "open"}, "'thread.state'"),
        ({"key": "k", "state": "s", "phase": "opened"}, "'thread.phase'"),
        ({"key": "k", "state": "s", "phase": ["open"]}, "'thread.phase'"),
        ({"key": "k", "state": "s"}, "'thread.phase'"),
    ],
)
def test_a_malformed_thread_is_refused_naming_the_field(thread: object, field: str) -> None:
    message = json.loads(_notice().to_message()) | {"thread": thread}
    with pytest.raises(NoticeError, match=field):
        Notice.from_message(message)
    # AND the notifier still delivers it, as unrecognised, saying why
    alert = _only(_sns(json.dumps(message)))
    assert not alert.recognised
    assert field in alert.summary


# --- the nightly ETL's notices -----------------------------------------------------------------------------


def _notice_states() -> dict[str, dict[str, Any]]:
    definition = json.loads((ROOT / "statemachines" / "nightly_etl.asl.json").read_text(encoding="utf-8"))
    found: dict[str, dict[str, Any]] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            if (state.get("Parameters") or {}).get("schema") == SCHEMA:
                found[name] = state["Parameters"]
            for branch in state.get("Branches") or []:
                walk(branch["States"])

    walk(definition["States"])
    return found


def test_every_nightly_etl_notice_is_a_step_in_its_run_thread() -> None:
    # GIVEN every notice the state machine prepares
    notices = _notice_states()
    assert len(notices) == 5
    for name, parameters in notices.items():
        thread = parameters["thread"]
        # THEN it names its own execution's thread, the one the run's status events open and close
        assert thread["key.$"] == "States.Format('sfn:{}', $$.Execution.Id)", name
        assert thread["phase"] == "progress", name
        assert thread.get("state") or thread.get("state.$"), name
        # AND, its paths filled in, it is a valid notice
        filled = {k.removesuffix(".$"): ("x" if k.endswith(".$") else v) for k, v in parameters.items()}
        filled |= {"fields": {}, "severity": parameters.get("severity", "warning")}
        filled_thread = {k.removesuffix(".$"): ("x" if k.endswith(".$") else v) for k, v in thread.items()}
        filled["thread"] = filled_thread
        assert Notice.from_message(filled).thread == ThreadRef("x", filled_thread["state"], Phase.PROGRESS)


# --- survey uploads and their partitions' data quality -----------------------------------------------------


@pytest.mark.parametrize("status", ["ingested", "quarantined", "superseded"])
def test_the_parser_notice_opens_the_upload_thread(status: str) -> None:
    outcome = Outcome(status=status, source=UPLOAD, file_name=UPLOAD.rsplit("/", 1)[-1], upload_id="abc")
    notice = notice_for(outcome)
    # the upload, not only the file name: a file uploaded again under its name is a thread of its own
    assert notice.thread == ThreadRef(f"survey:{UPLOAD}#abc", status, Phase.OPEN)
    assert _only(_sns(notice.to_message())).thread == notice.thread


def _quality_event(context: str, *, failed: int = 0) -> dict[str, Any]:
    event = aws_sample("eventbridge_glue_data_quality_evaluation_results_available_catalog__awsdocs.json")
    event["detail"]["context"] = {
        "contextType": "GLUE_JOB",
        "jobName": "shoplake-dev-survey-quality",
        "jobId": "jr_1",
        "evaluationContext": context,
    }
    event["detail"] |= {"rulesFailed": failed, "rulesSucceeded": 9 - failed, "state": "SUCCEEDED"}
    return event


@pytest.mark.parametrize(("failed", "verdict"), [(0, "passed"), (2, "failed 2 of 9 rules")])
def test_a_partition_quality_result_replies_in_its_upload_thread(failed: int, verdict: str) -> None:
    # GIVEN the evaluation context the quality job names for a partition that upload wrote
    context = upload_thread.evaluation_context("survey_offline_ads", PARTITION, UPLOAD)
    # WHEN its result arrives
    alert = _only(_quality_event(context, failed=failed))
    # THEN it is a step in the thread the parser's notice opened, and still names table and partition only
    opened = notice_for(Outcome(status="ingested", source=UPLOAD, file_name="f")).thread
    partition = "survey_offline_ads year=2026/month=11/day=23"
    assert opened is not None
    assert alert.thread == ThreadRef(opened.key, f"{partition}: {verdict}", Phase.PROGRESS)
    assert alert.resource == partition
    assert context.isascii() and " " not in context.removeprefix(f"{partition} ")


def test_a_quality_result_without_an_upload_has_no_thread() -> None:
    # GIVEN a check re-run by name (no object, no upload), and a catalog evaluation
    rerun = _only(_quality_event(upload_thread.evaluation_context("survey_offline_ads", PARTITION)))
    catalog = _only(aws_sample("eventbridge_glue_data_quality_evaluation_results_available_catalog__awsdocs.json"))
    assert rerun.thread is None
    assert rerun.resource == "survey_offline_ads year=2026/month=11/day=23"
    assert catalog.thread is None


def test_an_upload_too_long_to_carry_is_left_out_not_cut() -> None:
    long_upload = "s3://b/inbox/" + "설" * 200 + ".csv"
    assert upload_thread.upload_metadata(long_upload) == {}
    assert upload_thread.evaluation_context("t", PARTITION, long_upload) == "t year=2026/month=11/day=23"
    assert upload_thread.read_evaluation_context("t year=2026/month=11/day=23") == ("t year=2026/month=11/day=23", None)


def test_a_key_that_looks_like_the_marker_is_read_back_whole() -> None:
    tricky = "s3://b/inbox/a upload=s3://x/y.csv"
    context = upload_thread.evaluation_context("t", PARTITION, tricky)
    assert upload_thread.read_evaluation_context(context) == ("t year=2026/month=11/day=23", tricky)


@mock_aws
def test_the_partition_object_names_its_upload_to_the_quality_job() -> None:
    # GIVEN a partition object written as the parser writes it, and one written before uploads were named
    s3 = boto3.client("s3", region_name="ap-northeast-2")
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    key = "surveys/survey_offline_ads/year=2026/month=11/day=23/part-1.parquet"
    s3.put_object(Bucket="lake", Key=key, Body=b"x", Metadata=upload_thread.upload_metadata(UPLOAD))
    s3.put_object(Bucket="lake", Key="surveys/old.parquet", Body=b"x")
    # THEN the job reads the upload back; an unnamed, a deleted or no object gives none, and the check goes on
    assert upload_of_object(s3, f"s3://lake/{key}") == UPLOAD
    assert upload_of_object(s3, "s3://lake/surveys/old.parquet") is None
    assert upload_of_object(s3, "s3://lake/surveys/gone.parquet") is None
    assert upload_of_object(s3, None) is None


# --- the notifier's rules ----------------------------------------------------------------------------------


def _rule_pattern(event_name: str) -> str:
    template = load_template()
    resolver = Resolver.for_template(
        template, {}, {"AWS::Partition": "aws", "AWS::Region": "ap-northeast-2", "AWS::AccountId": "123456789012"}
    )
    events = template["Resources"]["SlackNotifierFunction"]["Properties"]["Events"]
    return json.dumps(resolver.resolve(events[event_name]["Properties"]["Pattern"]))


def _matches(pattern: str, event: dict[str, Any]) -> bool:
    # moto's matcher: the one the local stack routes the notifier's events with (local_stack/event_routing.py).
    return bool(EventPattern.load(pattern).matches_event(event))  # type: ignore[arg-type]  # a TypedDict there


@pytest.mark.parametrize(
    ("sample", "state", "delivered"),
    [
        ("eventbridge_codepipeline_execution_started__awsdocs.json", "STARTED", True),
        ("eventbridge_codepipeline_execution_started__awsdocs.json", "SUPERSEDED", True),
        ("eventbridge_codepipeline_stage_stopped__awsdocs.json", "FAILED", True),
        ("eventbridge_codepipeline_stage_stopped__awsdocs.json", "SUCCEEDED", True),
        ("eventbridge_codepipeline_stage_stopped__awsdocs.json", "STARTED", False),
        ("eventbridge_codepipeline_stage_resumed_after_retry__awsdocs.json", "RESUMED", False),
    ],
)
def test_the_pipeline_rule_takes_executions_and_stage_outcomes(sample: str, state: str, delivered: bool) -> None:
    event = aws_sample(sample)
    event["detail"] |= {"pipeline": "shoplake-dev-services", "state": state}
    assert _matches(_rule_pattern("PipelineExecutionStateChange"), event) is delivered
    event["detail"]["pipeline"] = "someone-elses"
    assert not _matches(_rule_pattern("PipelineExecutionStateChange"), event)


def test_the_state_machine_rule_takes_a_shoplake_run_starting() -> None:
    event = aws_sample("eventbridge_stepfunctions_execution_running__awsdocs.json")
    machine = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:shoplake-dev-nightly-etl"
    event["detail"]["stateMachineArn"] = machine
    assert _matches(_rule_pattern("StateMachineStatusChange"), event)
