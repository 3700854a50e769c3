"""The nightly ETL's definition: every task retries and every step's failure is caught and told."""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.template import ROOT, load_template, night_rulesets
from shoplake import business, lake_layout
from shoplake_etl.catalog import MAX_CATCH_UP_DAYS, catch_up_since
from shoplake_etl.night import STEPS, read_run_date

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


def test_the_jobs_read_a_run_date_spelt_yyyy_mm_dd_only() -> None:
    # GIVEN the state machine passes the jobs a day as YYYY-MM-DD, the one spelling its lock table keys
    assert read_run_date("2026-11-01") == date(2026, 11, 1)
    # THEN no other spelling reads as a day, though date.fromisoformat reads some of them, nor a day no calendar has
    for other in ("20261101", "yesterday", "2026-W44-7", "2026-305", "2026-11-01T00:00", "2026-11-01\n", "2026-02-30"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            read_run_date(other)


def _state_machines(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield states
    for state in states.values():
        for inner in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            yield from _state_machines(inner["States"])


def _targets(state: dict[str, Any]) -> list[str]:
    nexts = [state.get("Next"), state.get("Default"), *(rule["Next"] for rule in state.get("Choices", []))]
    return [name for name in [*nexts, *(catch["Next"] for catch in state.get("Catch", []))] if name]


def test_every_transition_names_a_state_and_every_state_is_reached() -> None:
    # GIVEN the definition and each Map's and Parallel's own states, each machine with its StartAt
    starts = [DEFINITION["StartAt"]] + [
        inner["StartAt"]
        for state in (s for states in _state_machines(DEFINITION["States"]) for s in states.values())
        for inner in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]
    ]
    machines = list(_state_machines(DEFINITION["States"]))
    for states in machines:
        # THEN every Next, Default, Choice and Catch names a state of its own machine
        missing = {
            (name, target) for name, state in states.items() for target in _targets(state) if target not in states
        }
        assert missing == set()
        # AND every state is reached from its machine's start
        (start,) = [s for s in starts if s in states]
        reached, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo.extend(_targets(states[name]))
        assert set(states) - reached == set()


def test_the_calendar_tables_are_the_calendars() -> None:
    # GIVEN the tables the state machine adds its dates up with
    tables = DEFINITION["States"]["The calendar"]["Result"]
    years = range(tables["first_year"], 2100)
    # THEN each is what Python's calendar says, year by year and month by month (a common year, then a leap year)
    assert tables["years"] == [str(year) for year in years]
    assert tables["year_starts"] == [calendar.timegm((year, 1, 1, 0, 0, 0)) for year in years]
    assert tables["leap12"] == [12 if calendar.isleap(year) else 0 for year in years]
    for offset, year in ((0, 2026), (12, 2028)):
        for month in range(1, 13):
            start = calendar.timegm((year, month, 1, 0, 0, 0)) - calendar.timegm((year, 1, 1, 0, 0, 0))
            assert tables["month_starts"][offset + month - 1] == start
            assert tables["month_days"][offset + month - 1] == calendar.monthrange(year, month)[1]
    assert tables["day_seconds"] == [day * 86400 for day in range(31)]
    assert tables["hour_seconds"] == [hour * 3600 for hour in range(24)]
    assert tables["two_digits"] == [f"{n:02d}" for n in range(32)]
    assert [(tables["year_shift"][m - 1], tables["month_before"][m - 1]) for m in (1, 2, 12)] == [
        (-1, 12),
        (0, 1),
        (0, 11),
    ]


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


# The states that work out the run's day and the days it holds, before it holds them, or refuse what was given.
DAY_STATES = [
    "The calendar", "Read the clock", "When the month began", "What time it is", "Which day",
    "The day asked for, as given", "The scheduled time, as given", "Is it text", "The date is the text",
    "Split off the time of day", "Is there a date before the time", "The date before the time", "Split the date",
    "Has the date three parts", "Read the date's parts", "Is it spelt YYYY-MM-DD", "Count the date", "Is it a month",
    "The days of that month", "Is it a day of that month", "Has the day ended",
    "The day asked for", "The scheduled night's day",
    "Yesterday in Seoul", "Seoul's day has turned", "Seoul's day has not turned", "The days of the catch-up",
    "The run's day",
]  # fmt: skip
REFUSED = "Refused: not a day"  # the first state of the refusal of an input that is not a day
NOT_ENDED = "Refused: the day has not ended"  # the first state of the refusal of a day not over in Seoul


def _work_out_days(payloads: list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
    """How the day states end for each of `payloads` at `at` (ISO 8601, UTC), by moto's engine, in one state
    machine: SUCCEEDED with the state at 'The holds' as output, or FAILED with the error `Refused` where the
    refusal of the input begins (`NotEnded` where that of a day not over begins)."""
    ends = {
        "The holds": {"Type": "Succeed"},
        REFUSED: {"Type": "Fail", "Error": "Refused"},
        NOT_ENDED: {"Type": "Fail", "Error": "NotEnded"},
    }
    states = {name: DEFINITION["States"][name] for name in DAY_STATES} | ends
    text = json.dumps(states).replace("$$.State.EnteredTime", "$.at")  # the clock, as the test sets it
    definition = {"StartAt": DEFINITION["StartAt"], "States": json.loads(text)}
    ended = []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="ap-northeast-2")
        arn = sfn.create_state_machine(
            name="days", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/states"
        )["stateMachineArn"]
        for number, payload in enumerate(payloads):
            execution = sfn.start_execution(
                stateMachineArn=arn, name=f"input-{number}", input=json.dumps(payload | {"at": at})
            )
            for _ in range(400):
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.01)
            ended.append(dict(described))
    return ended


def _days_held(payload: dict[str, Any], at: str) -> dict[str, Any]:
    """What the day states make of `payload` for an execution started at `at` (ISO 8601, UTC), by moto's engine."""
    (described,) = _work_out_days([payload], at)
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
        ({"run_date": "2028-02-29"}, "2028-03-01T03:00:00Z"),  # the calendar's leap day, once it has ended
        ({"run_date": "2020-01-01"}, "2026-11-24T18:00:00Z"),  # its first day
        ({"run_date": "2099-12-31"}, "2099-12-31T15:00:00Z"),  # and its last, at its end in Seoul
        ({"run_date": "2026-11-23"}, "2026-11-24T14:59:59.999Z"),  # yesterday in Seoul, its last minute there
        ({"run_date": "2026-11-24"}, "2026-11-24T15:00:00.000Z"),  # yesterday in Seoul, at Seoul's midnight
        ({"scheduled_time": "2020-01-07T17:00:00Z"}, "2026-11-24T18:00:00Z"),  # the first night it can hold whole
        ({"scheduled_time": "2026-11-24"}, "2026-11-24T17:00:00.000Z"),  # a date alone is a time's date too
    ],
)
def test_every_run_holds_its_resolved_day_and_a_night_the_days_its_catch_up_may_extract(
    payload: dict[str, Any], at: str
) -> None:
    # GIVEN a run's input and the time it starts
    now = datetime.fromisoformat(at)
    # WHEN the state machine works out its day and the days it holds
    worked_out = _days_held(payload, at)
    # THEN the day is the one asked for, the scheduled one, or yesterday in Seoul, by its date
    day = business.business_date(now) - timedelta(days=1)  # yesterday in Seoul
    if "run_date" in payload:
        day = date.fromisoformat(payload["run_date"])
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


NOT_DAYS: list[dict[str, Any]] = [
    *({"run_date": value} for value in ["20261124", "yesterday", "2026-W48-2", "2026-328", "2026-11-24T00:00"]),
    *({"run_date": value} for value in ["2026--11-24", "-2026-11-24", " 2026-11-24", "2026-11-24 "]),
    {"run_date": "\uff12\uff10\uff12\uff16-11-24"},  # 2026 in full-width digits
    *({"run_date": value} for value in ["2026-02-30", "2027-02-29", "2026-11-31", "2026-13-01", "2026-00-10"]),
    *({"run_date": value} for value in ["2026-11-00", "2019-12-31", "2100-01-01", "", "-", "T"]),
    *({"run_date": value} for value in [20261124, None, True, ["2026-11-24"], {"day": "2026-11-24"}]),
    *({"scheduled_time": value} for value in ["x", "T", "", "2100-03-03T17:00:00Z", "2020-01-06T17:00:00Z"]),
    *({"scheduled_time": value} for value in ["20261124T170000Z", 1795539600, None, ["2026-11-24T17:00:00Z"]]),
]  # fmt: skip


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


def test_an_input_that_is_not_a_day_spelt_yyyy_mm_dd_of_the_calendar_is_refused_before_any_hold() -> None:
    # GIVEN days asked for in another spelling, of another type, or that the calendar does not have (a night's
    # catch-up holds the 6 days before it, so the first night it can hold is the 7th of January 2020)
    # WHEN the state machine works out their days
    ended = _work_out_days(NOT_DAYS, "2026-11-24T18:00:00Z")
    # THEN each goes to the refusal of its input, never to the holds, and none fails in a state no Catch takes
    outcomes = {
        json.dumps(payload): (each["status"], each.get("error")) for payload, each in zip(NOT_DAYS, ended, strict=True)
    }
    assert {payload: end for payload, end in outcomes.items() if end != ("FAILED", "Refused")} == {}


@pytest.mark.parametrize(
    ("run_date", "at"),
    [
        ("2026-11-24", "2026-11-24T14:59:59.999Z"),  # today in Seoul, 23:59 there
        ("2026-11-25", "2026-11-24T15:00:00.000Z"),  # today in Seoul, just begun
        ("2026-11-25", "2026-11-24T03:00:00Z"),  # tomorrow in Seoul
        ("2062-11-24", "2026-11-24T18:00:00Z"),  # a typo of 2062 for 2026, a real day of the calendar
        ("2027-01-01", "2026-12-31T14:00:00Z"),  # a day of the next year
    ],
)
def test_a_day_asked_for_that_has_not_ended_in_seoul_is_refused_before_any_hold(run_date: str, at: str) -> None:
    # GIVEN a day asked for that is today in Seoul or later, when the run starts
    # WHEN the state machine works out its day
    (described,) = _work_out_days([{"run_date": run_date}], at)
    # THEN it goes to the refusal of a day not over, never to the holds
    assert (described["status"], described.get("error")) == ("FAILED", "NotEnded"), described
