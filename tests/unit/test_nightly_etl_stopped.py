"""A nightly ETL run stopped from outside (timed out, aborted) is told what happens next, as the state machine says it.

The facts the notifier tells (`shoplake.nightly_etl`) are the state machine's: the tests here read its
definition and template.yaml, so that the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from local_stack.template import ROOT, load_template
from shoplake import nightly_etl
from shoplake.alerts.model import Alert
from shoplake.alerts.sources import read_alerts
from shoplake_etl.catalog import left_behind_notice
from tests.conftest import aws_sample

DEFINITION = json.loads((ROOT / "statemachines" / "nightly_etl.asl.json").read_text(encoding="utf-8"))
MACHINE = "arn:aws:states:us-east-1:012345678912:stateMachine:shoplake-prod-nightly-etl"
# 2019-02-26T23:48:46.156Z, the timed-out sample's startDate
STARTED_MS = 1551224926156


def _alert(status: str, *, machine: str = MACHINE, **detail: Any) -> Alert:
    sample = {"TIMED_OUT": "timed_out", "ABORTED": "aborted", "FAILED": "failed"}[status]
    event = aws_sample(f"eventbridge_stepfunctions_execution_{sample}__awsdocs.json")
    event["detail"] = {**event["detail"], "stateMachineArn": machine, "startDate": STARTED_MS, **detail}
    (alert,) = read_alerts(event)
    return alert


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_rerun_command_of_the_state_machine_is_spelt_as_the_notifier_spells_it() -> None:
    # GIVEN every text of the definition that spells a start-execution command
    spelt = [s for s in _strings(DEFINITION) if "start-execution" in s]
    # THEN there is one at least ("Re-run the day by hand"), and each is RERUN_COMMAND, with the ARN and input to fill
    by_hand = DEFINITION["States"]["Re-run the day by hand"]["Parameters"]["text.$"]
    assert nightly_etl.RERUN_COMMAND in by_hand
    for text in spelt:
        assert re.findall(r"aws stepfunctions start-execution[^']*?--input \{\}", text) == [nightly_etl.RERUN_COMMAND]
    # AND its input is JSON twice over, as the state machine's two States.JsonToString make it
    assert nightly_etl.rerun_argument("2026-11-24") == '"{\\"run_date\\":\\"2026-11-24\\"}"'
    spell = DEFINITION["States"]["Failed: spell the re-run's input"]["Parameters"]["json.$"]
    quote = DEFINITION["States"]["Failed: quote it for a shell"]["Parameters"]["argument.$"]
    assert (spell, quote) == ("States.JsonToString($.rerun)", "States.JsonToString($.rerun_input.json)")


def test_the_left_behind_note_spells_its_back_fills_as_the_state_machine_does() -> None:
    arn = MACHINE
    note = left_behind_notice([date(2026, 11, 10)], arn)
    assert nightly_etl.rerun_command(arn, "2026-11-10") in note


def test_a_hold_lapses_when_the_notifier_says_it_does() -> None:
    # GIVEN the state machine's hold of a day (its expires_at) and the name the template gives the machine
    put = DEFINITION["States"]["The holds"]["ItemProcessor"]["States"]["A day's hold"]["Parameters"]["Put"]
    lapse = int(re.search(r"MathAdd\(\$\.now, (\d+)\)", put["Item"]["expires_at"]["N.$"])[1])  # type: ignore[index]
    name = load_template()["Resources"]["NightlyEtlStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    # THEN the notifier's expiry is the same, from the start's hour, and it knows the machine by that name
    assert lapse == nightly_etl.HOLD_SECONDS
    started = datetime(2026, 11, 24, 17, 0, 42, tzinfo=UTC)
    assert nightly_etl.hold_expiry(started) == datetime(2026, 11, 25, 2, tzinfo=UTC)
    assert nightly_etl.is_nightly_etl(f"{MACHINE.rsplit(':', 1)[0]}:{name.replace('${EnvironmentName}', 'dev')}")


def test_a_timed_out_back_fill_is_told_when_its_hold_lapses_and_the_command_that_re_runs_it() -> None:
    # GIVEN the nightly ETL's back-fill of the 24th stopped by its TimeoutSeconds
    alert = _alert("TIMED_OUT", input='{"run_date": "2026-11-24"}')
    # THEN Slack is told when its hold lapses (9 hours after its start's hour) and the exact re-run command
    assert "lapse at 2019-02-27 08:00 UTC" in alert.summary
    assert nightly_etl.rerun_command(MACHINE, "2026-11-24") in alert.summary
    assert "next scheduled night" not in alert.summary


def test_an_aborted_night_is_told_that_the_next_night_catches_up() -> None:
    # GIVEN a scheduled night stopped by hand
    alert = _alert("ABORTED", input='{"scheduled_time": "2026-11-24T17:00:00Z"}')
    # THEN Slack is told its holds lapse and the next night catches up; no re-run command
    assert "lapse at 2019-02-27 08:00 UTC" in alert.summary
    assert "The next scheduled night catches up" in alert.summary
    assert "start-execution" not in alert.summary


def test_a_stopped_run_whose_input_the_event_left_out_is_told_both_ways() -> None:
    alert = _alert("TIMED_OUT", input=None, inputDetails={"included": False})
    assert "catches up" in alert.summary
    assert nightly_etl.RERUN_COMMAND.format(MACHINE, nightly_etl.rerun_argument("YYYY-MM-DD")) in alert.summary


def test_another_state_machines_timeout_and_a_failed_night_are_not_told_the_nightly_etls_next_steps() -> None:
    # GIVEN a timeout of a machine that is not the nightly ETL, and a night that failed (it told Slack itself)
    other = _alert("TIMED_OUT", machine="arn:aws:states:us-east-1:012345678912:stateMachine:shoplake-prod-other")
    failed = _alert("FAILED", input='{"run_date": "2026-11-24"}')
    # THEN neither says what the nightly ETL's holds do
    assert "lapse" not in other.summary and "lapse" not in failed.summary
