"""The nightly ETL's definition: every task retries and every step's failure is caught and told."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.template import ROOT, load_template, night_rulesets
from shoplake import lake_layout
from shoplake_etl.catalog import MAX_CATCH_UP_DAYS, catch_up_since
from shoplake_etl.night import STEPS, resolve_run_date

DEFINITION = json.loads((ROOT / "statemachines" / "nightly_etl.asl.json").read_text(encoding="utf-8"))


def _tasks(states: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        for branch in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            found |= _tasks(branch["States"])
    return found


def test_every_task_retries_with_backoff_and_jitter() -> None:
    for name, task in _tasks(DEFINITION["States"]).items():
        (retry,) = task["Retry"]
        assert retry["BackoffRate"] >= 2 and retry["JitterStrategy"] == "FULL", name


def test_every_step_failure_is_caught_and_leads_to_the_failure_notice() -> None:
    states = DEFINITION["States"]
    steps = ["Extract", "Clean", "Curate and count the hours", "Check data quality", "Publish"]
    for step in steps:
        (catch,) = states[step]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert states[catch["Next"]]["Next"] == "Is it a Glue run's failure"  # its error message, then the notice
    assert states["Prepare the failure notice"]["Next"] == "Tell the failure"
    assert states["Tell the failure"]["Next"] == "Failed"


def test_the_glue_jobs_are_the_templates_and_every_step_has_one() -> None:
    resources = load_template()["Resources"]
    substitutions = resources["NightlyEtlStateMachine"]["Properties"]["DefinitionSubstitutions"]
    text = json.dumps(DEFINITION)
    for name in (
        "EtlExtractJob",
        "EtlCleanJob",
        "EtlCurateJob",
        "ClickstreamHourlyJob",
        "EtlQualityJob",
        "EtlPublishJob",
    ):
        assert "${" + name + "}" in text and substitutions[name] == {"Ref": name}
    steps = {resources[n]["Properties"]["DefaultArguments"]["--step"] for n in substitutions if n.endswith("Job")}
    assert steps == set(STEPS)


def test_the_run_date_is_yesterday_in_seoul_unless_given() -> None:
    # 01:30 in Seoul on the 25th is still the 24th in UTC: yesterday is the 24th in Seoul
    assert resolve_run_date("yesterday", datetime(2026, 11, 24, 16, 30, tzinfo=UTC)) == date(2026, 11, 24)
    assert resolve_run_date("2026-11-01", datetime(2026, 11, 24, tzinfo=UTC)) == date(2026, 11, 1)


def test_the_quality_job_checks_every_curated_table_publish_publishes_with_its_templates_ruleset() -> None:
    # GIVEN the tables publish publishes (lake_layout.CURATED_TABLES) and the quality job's --rulesets
    template = load_template()
    named = night_rulesets(template)
    # THEN each has a ruleset, and only they: a table no rule checks is refused at publish (require_checked)
    assert sorted(named) == sorted(lake_layout.CURATED_TABLES)
    assert all(template["Resources"][logical]["Type"] == "AWS::Glue::DataQualityRuleset" for logical in named.values())


def test_the_quality_role_may_read_every_ruleset_the_quality_job_names() -> None:
    # GIVEN the quality job's rulesets and its role's statement for Glue Data Quality
    template = load_template()
    policy = template["Resources"]["EtlQualityRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "EvaluateTheNightsRulesets"]
    # THEN the role names each of them, so none fails in AWS with AccessDenied
    allowed = {re.sub(r".*dataQualityRuleset/\$\{(\w+)\}$", r"\1", r["Fn::Sub"]) for r in statement["Resource"]}
    assert allowed == set(night_rulesets(template).values())


# The states that work out the run's day and the days it holds, before it holds them.
DAY_STATES = [
    "The calendar", "Read the clock", "What time it is", "Which day", "The day asked for", "The scheduled night's day",
    "Yesterday in Seoul", "Seoul's day has turned", "Seoul's day has not turned", "The days of the catch-up",
    "The run's day",
]  # fmt: skip


def _days_held(payload: dict[str, Any], at: str) -> dict[str, Any]:
    """What the day states make of `payload` for an execution started at `at` (ISO 8601, UTC), by moto's engine."""
    states = {name: DEFINITION["States"][name] for name in DAY_STATES} | {"The holds": {"Type": "Succeed"}}
    text = json.dumps(states).replace("$$.State.EnteredTime", "$.at")  # the clock, as the test sets it
    definition = {"StartAt": DEFINITION["StartAt"], "States": json.loads(text)}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="ap-northeast-2")
        arn = sfn.create_state_machine(
            name="days", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/states"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload | {"at": at}))["executionArn"]
        for _ in range(400):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.01)
    assert described["status"] == "SUCCEEDED", described
    return dict(json.loads(described["output"]))


@pytest.mark.parametrize(
    ("payload", "at"),
    [
        ({"scheduled_time": "2026-11-24T17:00:00Z"}, "2026-11-24T17:00:03.120Z"),
        ({"scheduled_time": "2028-03-02T17:00:00Z"}, "2028-03-02T17:00:00.000Z"),  # back over a leap day
        ({"scheduled_time": "2027-03-03T17:00:00Z"}, "2027-03-03T17:00:00.000Z"),  # over a common February
        ({"scheduled_time": "2027-01-02T17:00:00Z"}, "2027-01-02T17:00:00.000Z"),  # into the year before
        ({}, "2028-03-01T14:59:59.999Z"),  # 23:59 in Seoul on 1 March: yesterday is 29 February
        ({}, "2028-02-29T15:00:00.000Z"),  # 00:00 in Seoul on 1 March, too
        ({}, "2027-01-01T03:00:00+00:00"),  # noon on New Year's Day in Seoul (moto's own time format)
        ({"run_date": "2026-11-20"}, "2026-11-24T18:00:00Z"),
    ],
)
def test_every_run_holds_its_resolved_day_and_a_night_the_days_its_catch_up_may_extract(
    payload: dict[str, Any], at: str
) -> None:
    # GIVEN a run's input and the time it starts
    now = datetime.fromisoformat(at)
    # WHEN the state machine works out its day and the days it holds
    worked_out = _days_held(payload, at)
    # THEN the day is the one the jobs resolve, by its date: the day asked for, the scheduled one, or yesterday in Seoul
    day = resolve_run_date(payload.get("run_date", "yesterday"), now)
    if "scheduled_time" in payload:
        day = date.fromisoformat(payload["scheduled_time"][:10])
    assert worked_out["run_date"] == worked_out["rerun"]["run_date"] == day.isoformat()
    # AND a night that catches up holds every day its extract may read (catch_up_since never goes further back)
    reach = 1 if "run_date" in payload else MAX_CATCH_UP_DAYS
    assert worked_out["days"] == [(day - timedelta(days=back)).isoformat() for back in range(reach)]
    assert catch_up_since(day, []) == day and catch_up_since(day, [day - timedelta(days=99)]) == day - timedelta(
        days=MAX_CATCH_UP_DAYS - 1
    )
    # AND the clock is the start's hour in Unix seconds, never later than the start
    assert worked_out["clock"]["now"] == int(now.replace(minute=0, second=0, microsecond=0).timestamp())


def test_a_hold_outlives_the_longest_run_and_lapses_after_it() -> None:
    # GIVEN the state machine's and the Glue tasks' time limits, and the template's Glue jobs' Timeout (minutes)
    resources = load_template()["Resources"]
    glue_tasks = [t for t in _tasks(DEFINITION["States"]).values() if "glue:startJobRun" in t["Resource"]]
    jobs = [resources[n] for n in resources if resources[n]["Type"] == "AWS::Glue::Job" and n != "SurveyQualityJob"]
    longest_job = max(job["Properties"]["Timeout"] for job in jobs) * 60
    # THEN each Glue task waits a little longer than its job may run, and the night longer than its five stages
    assert {t["TimeoutSeconds"] for t in glue_tasks} == {longest_job + 300}
    assert DEFINITION["TimeoutSeconds"] >= 5 * (longest_job + 300 + 900)  # each stage with its retries' waits
    # AND a hold lapses after the state machine's timeout, from the start's hour (at most an hour early)
    put = DEFINITION["States"]["The holds"]["ItemProcessor"]["States"]["A day's hold"]["Parameters"]["Put"]
    lapse = int(re.search(r"MathAdd\(\$\.now, (\d+)\)", put["Item"]["expires_at"]["N.$"])[1])  # type: ignore[index]
    assert lapse - 3600 >= DEFINITION["TimeoutSeconds"]
    assert "expires_at <= :now" in put["ConditionExpression"]
    # AND the table's TTL removes lapsed holds
    ttl = resources["EtlDayLockTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_the_success_notice_repeats_the_extracts_note_of_the_days_left_behind() -> None:
    # GIVEN the state that reads the note, and the state machine's permission to
    states = DEFINITION["States"]
    read = states["Read the days left behind"]
    template = load_template()["Resources"]["NightlyEtlStateMachine"]["Properties"]
    (granted,) = [s for p in template["Policies"] for s in p["Statement"] if s["Sid"] == "ReadTheDaysLeftBehind"]
    # THEN the key is lake_layout's, the role may read just that prefix, and the notice says what it holds
    assert lake_layout.left_behind_key(date(2026, 11, 24)) == f"{lake_layout.ETL_LEFT_BEHIND}2026-11-24.txt"
    assert read["Parameters"]["Key.$"] == f"States.Format('{lake_layout.ETL_LEFT_BEHIND}{{}}.txt', $.run_date)"
    assert granted["Resource"]["Fn::Sub"] == "${LakeBucket.Arn}/" + lake_layout.ETL_LEFT_BEHIND + "*"
    assert states["Publish"]["Next"] == "Read the days left behind"
    assert read["Catch"][0] == {
        "ErrorEquals": ["S3.NoSuchKeyException"],
        "ResultPath": None,
        "Next": "No day is left behind",
    }
    assert "$.left_behind.text" in states["Prepare the success notice"]["Parameters"]["summary.$"]
    # AND any other error is told in the summary, with where the note is, and the night goes on
    (other,) = [c for c in read["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
    unread = states[other["Next"]]
    assert unread["ResultPath"] == "$.left_behind" and unread["Next"] == states["No day is left behind"]["Next"]
    assert f"s3://${{LakeBucket}}/{lake_layout.ETL_LEFT_BEHIND}{{}}.txt" in unread["Parameters"]["text.$"]


def test_a_failure_to_let_the_days_go_is_told_as_a_published_day_whose_holds_are_left() -> None:
    # GIVEN the step that lets the days go after publish, and what its failure is told
    states = DEFINITION["States"]
    (catch,) = states["Let the days go"]["Catch"]
    failed = states[catch["Next"]]
    # WHEN the failure notice chooses what happens next for that step
    (choice,) = [c for c in states["What happens next"]["Choices"] if c.get("StringEquals") == failed["Result"]]
    name = choice["Next"]
    while "text.$" not in states[name].get("Parameters", {}):
        name = states[name]["Next"]
    text = states[name]["Parameters"]["text.$"]
    # THEN it says the day is published, how its holds lapse or are deleted, and repeats the days left behind
    assert failed["Result"] == "let the days go" and "Nothing of that day is published" not in text
    assert "The day IS published" in text and "expires_at" in text and "delete-item --table-name" in text
    assert "$.left_behind.text" in text
    assert states[name]["Next"] == "Let the failed days go"
