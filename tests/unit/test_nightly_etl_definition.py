"""The nightly ETL's definition: every task retries and every step's failure is caught and told."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from local_stack.template import ROOT, load_template
from shoplake import lake_layout
from shoplake_etl.night import STEPS, resolve_run_date

DEFINITION = json.loads((ROOT / "statemachines" / "nightly_etl.asl.json").read_text(encoding="utf-8"))


def _tasks(states: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        for branch in state.get("Branches", []):
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


def test_the_quality_job_checks_every_curated_table_with_its_templates_ruleset() -> None:
    resources = load_template()["Resources"]
    rulesets = resources["EtlQualityJob"]["Properties"]["DefaultArguments"]["--rulesets"]["Fn::Sub"]
    named = json.loads(re.sub(r"\$\{(\w+)\}", r"\1", rulesets))
    assert set(named) | {"clickstream_hourly"} == set(lake_layout.CURATED_TABLES)
    assert all(resources[logical]["Type"] == "AWS::Glue::DataQualityRuleset" for logical in named.values())


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
    assert read["Catch"][0]["Next"] == "No day is left behind"
    assert "$.left_behind.text" in states["Prepare the success notice"]["Parameters"]["summary.$"]
