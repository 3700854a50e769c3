"""A hostile review of the nightly ETL's state machine (review 17b): each test shows a fault, xfail until fixed.

moto's Step Functions engine runs the template's state machine (the fixtures of the state machine tests);
the Glue jobs do nothing. Run with --runxfail to see each fail for its stated reason.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.models import S3Backend

from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from shoplake import lake_layout
from shoplake_etl.catalog import left_behind_notice
from shoplake_etl.night import read_run_date
from tests.functional import test_nightly_etl_state_machine as machine
from tests.functional.test_nightly_etl_lock import _held, _put_hold, _yesterday_in_seoul
from tests.functional.test_nightly_etl_state_machine import GlueRuns, _etl_notices, _run

stack, glue = machine.stack, machine.glue  # the state machine tests' fixtures: the local stack, Glue's runs
pytestmark = pytest.mark.server
FAR = {"N": "4102444800"}  # a hold that lapses in 2100: its run still runs


@pytest.mark.parametrize(("asked", "day"), [("20261124", lambda: "2026-11-24"), ("yesterday", _yesterday_in_seoul)])
def test_a_day_asked_for_in_another_spelling_is_refused_while_another_run_holds_it(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, asked: str, day: Any
) -> None:
    # GIVEN another run, still running, holds the day that spelling names (as the jobs once read it)
    local, _ = stack
    held = day()
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        read_run_date(asked)  # the jobs now read no second spelling either
    _put_hold(local, held, "arn:...:execution:nightly:the-other", expires_at=FAR)
    # WHEN a back-fill asks for that day, spelt another way the jobs once accepted
    result = _run(local, {"run_date": asked}, name="backfill")
    # THEN it is refused before any job starts, and holds nothing beside the other run's hold
    assert glue.started == [] and result["status"] == "FAILED"
    assert set(_held(local)) == {held}


def test_a_run_date_that_is_not_text_ends_and_is_told(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    # GIVEN a run asked for with a number for its day
    local, sink = stack
    sfn = local.client("stepfunctions")
    try:
        # WHEN it runs
        result = _run(local, {"run_date": 20261124}, name="numeric")
    except AssertionError as error:  # _run's "the execution did not finish" after 120 s
        result = {"status": f"RUNNING ({error})"}
    finally:
        for each in sfn.list_executions(stateMachineArn=local.stack.ref("NightlyEtlStateMachine"))["executions"]:
            if each["status"] == "RUNNING":
                sfn.stop_execution(executionArn=each["executionArn"])
    # THEN it ends, refused or failed, and Slack is told
    assert result["status"] == "FAILED"
    assert _etl_notices(local, sink)


@pytest.mark.parametrize("scheduled", ["x", "2100-03-03T17:00:00Z"])
def test_a_night_whose_schedule_time_cannot_be_read_is_told(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, scheduled: str
) -> None:
    # GIVEN a scheduled input whose time the calendar cannot read
    local, sink = stack
    # WHEN the night runs
    result = _run(local, {"scheduled_time": scheduled}, name="odd-schedule")
    # THEN it fails, and Slack is told that it did, the input it could not read, and what to do
    assert result["status"] == "FAILED" and glue.started == []
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "Nightly ETL refused: its scheduled_time is not a day it reads" in as_text(message), text
    assert f'its input field scheduled_time is "{scheduled}"' in text and "No night ran" in text, text


def test_a_day_published_whose_holds_cannot_be_let_go_is_not_told_as_unpublished(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN DynamoDB refuses every delete (the lock table's items cannot be let go)
    local, sink = stack

    def refuse(*_: Any, **__: Any) -> None:
        raise ResourceNotFoundException()

    monkeypatch.setattr(DynamoDBBackend, "delete_item", refuse)
    # WHEN a back-fill of the 24th runs every job, publish included, successfully
    result = _run(local, {"run_date": "2026-11-24"}, name="backfill-24")
    assert glue.started[-1] == "publish" and result["status"] == "FAILED"
    assert set(_held(local)) == {"2026-11-24"}
    # THEN Slack is not told the day is unpublished and must be re-run
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "let the days go" in text
    assert "Nothing of that day is published" not in text, json.dumps(text)


def test_a_left_behind_note_that_cannot_be_read_is_not_told_as_no_day_left_behind(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the extract's note that the 10th is left behind, which S3 refuses to give back
    local, sink = stack
    arn = local.stack.ref("NightlyEtlStateMachine")
    bucket = local.stack.ref("LakeBucket")
    key = lake_layout.left_behind_key(date(2026, 11, 24))
    local.client("s3").put_object(Bucket=bucket, Key=key, Body=left_behind_notice([date(2026, 11, 10)], arn))
    original = S3Backend.get_object

    def refuse(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        if key_name == key:
            raise S3AccessDeniedError()
        return original(self, bucket_name, key_name, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "get_object", refuse)
    # WHEN the night succeeds
    assert _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"})["status"] == "SUCCEEDED"
    # THEN its summary does not pass over the left-behind days in silence: it names them, or says it could not read them
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "2026-11-10" in text or "left behind" in text.lower(), text
