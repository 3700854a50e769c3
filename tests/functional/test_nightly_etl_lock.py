"""The nightly ETL's day lock, executed by moto's Step Functions engine on the template's resources.

A run holds every day it may write or extract, lets them go however it fails, and a hold left by a
run that no longer runs lapses by itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from local_stack import stepfunctions_glue
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from shoplake import business
from tests.functional import test_nightly_etl_state_machine as machine
from tests.functional.test_nightly_etl_state_machine import GlueRuns, _etl_notices, _hold, _run

stack, glue = machine.stack, machine.glue  # the state machine tests' fixtures: the local stack, Glue's runs
pytestmark = pytest.mark.server
NIGHT_SPAN = ["2026-11-24", "2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20", "2026-11-19", "2026-11-18"]


def _put_hold(local: LocalStack, day: str, execution: str, **extra: dict[str, str]) -> None:
    item = {"run_date": {"S": day}, "execution": {"S": execution}, "held_since": {"S": "2026-11-24T17:00:01Z"}}
    local.client("dynamodb").put_item(TableName=local.stack.ref("EtlDayLockTable"), Item=item | extra)


def _yesterday_in_seoul() -> str:
    return (business.business_date(datetime.now(UTC)) - timedelta(days=1)).isoformat()


def _held(local: LocalStack) -> dict[str, dict[str, Any]]:
    items = local.client("dynamodb").scan(TableName=local.stack.ref("EtlDayLockTable"), ConsistentRead=True)["Items"]
    return {item["run_date"]["S"]: item for item in items}


def test_a_scheduled_night_holds_every_day_its_catch_up_may_extract_while_it_runs(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN the lock table is looked at when the first job of the night starts
    local, _ = stack
    seen: list[dict[str, dict[str, Any]]] = []
    glue.on_start.append(lambda: seen.append(_held(local)))
    # WHEN the scheduled night of the 24th runs
    started = datetime.now(UTC)
    assert _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"}, name="night-24")["status"] == "SUCCEEDED"
    ended = datetime.now(UTC)
    # THEN it held its own day and the six before it (its catch-up reaches at most a week back), each with an expiry
    held = seen[0]
    assert sorted(held, reverse=True) == NIGHT_SPAN
    assert {item["execution"]["S"].rsplit(":", 1)[1] for item in held.values()} == {"night-24"}
    assert {item["held_for"]["S"] for item in held.values()} == {"2026-11-24"}
    expires = {int(item["expires_at"]["N"]) for item in held.values()}

    # (9 hours after the hour the run started in: the run may cross an hour, so between the two hours' expiries)
    def nine_hours_after_the_hour(moment: datetime) -> float:
        return moment.replace(minute=0, second=0, microsecond=0).timestamp() + 9 * 3600

    assert len(expires) == 1 and nine_hours_after_the_hour(started) <= expires.pop() <= nine_hours_after_the_hour(ended)
    # AND it let every one of them go at the end
    assert _held(local) == {}


def test_a_night_whose_catch_up_reaches_a_day_being_back_filled_is_refused_and_holds_nothing(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN a back-fill of the 20th is running (it holds the 20th)
    local, sink = stack
    _put_hold(local, "2026-11-20", "arn:...:execution:nightly:backfill-20", expires_at={"N": "4102444800"})
    # WHEN the scheduled night of the 24th starts (its catch-up may extract the 20th's changes)
    result = _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"}, name="night-24")
    # THEN it starts no job, holds none of its days (all or none), and Slack names the back-fill and the day
    assert result["status"] == "FAILED" and glue.started == []
    assert set(_held(local)) == {"2026-11-20"}
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "night-24 of 2026-11-24 did not start: arn:...:execution:nightly:backfill-20 has held 2026-11-20" in text
    assert "lapses by itself 9 hours after it was taken" in text


def test_a_run_without_input_holds_yesterday_in_seoul_by_its_date(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN another run holds yesterday in Seoul, by its date
    local, sink = stack
    before = _yesterday_in_seoul()
    _put_hold(local, before, "arn:...:execution:nightly:the-other")
    # WHEN a run starts without input
    result = _run(local, {}, name="no-input")
    after = _yesterday_in_seoul()
    # THEN it worked out that date and found it held (not a key "yesterday" beside it)
    if before == after:  # not across 15:00 UTC, when Seoul's day turns
        assert result["status"] == "FAILED" and glue.started == []
        (message,) = _etl_notices(local, sink)
        assert f"Nightly ETL for {before} refused" in as_text(message)
    assert "Item" not in _hold(local, "yesterday")


def test_a_run_without_input_runs_every_job_for_yesterday_in_seoul(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    local, _ = stack
    before = _yesterday_in_seoul()
    assert _run(local, {}, name="no-input")["status"] == "SUCCEEDED"
    after = _yesterday_in_seoul()
    assert {a["--run_date"] for a in glue.arguments} <= {before, after}
    assert len({a["--run_date"] for a in glue.arguments}) == 1
    assert _held(local) == {}


def test_a_hold_past_its_expiry_is_taken_over_and_one_still_running_is_not(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN a run aborted long ago left its hold of the 24th, expired
    local, _ = stack
    _put_hold(local, "2026-11-24", "arn:...:execution:nightly:aborted", expires_at={"N": "1000"})
    # WHEN a back-fill of the 24th starts, THEN it runs, and lets the day go at the end
    assert _run(local, {"run_date": "2026-11-24"}, name="backfill")["status"] == "SUCCEEDED"
    assert "Item" not in _hold(local, "2026-11-24")
    # GIVEN a hold that has not expired, WHEN a back-fill starts, THEN it is refused and the hold stands
    _put_hold(local, "2026-11-24", "arn:...:execution:nightly:running", expires_at={"N": "4102444800"})
    assert _run(local, {"run_date": "2026-11-24"}, name="backfill-2")["status"] == "FAILED"
    assert _hold(local, "2026-11-24")["Item"]["execution"]["S"] == "arn:...:execution:nightly:running"


@pytest.mark.parametrize(
    "message",
    [
        "{not json, though it looks like it",
        '{"JobRunState": "FAILED", "Id": "jr_1"}',  # JSON without an ErrorMessage
    ],
)
def test_a_failure_whose_cause_is_not_what_glue_usually_says_is_still_told_and_lets_the_day_go(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, message: str
) -> None:
    # GIVEN the clean job refuses to start with an error whose message is odd JSON or none at all
    local, sink = stack
    glue.failures["clean"] = ["EntityNotFoundException"]
    glue.messages["clean"] = message
    # WHEN the day runs
    assert _run(local, {"run_date": "2026-11-24"})["status"] == "FAILED"
    # THEN Slack is told which step failed, and the day is let go
    (notice,) = _etl_notices(local, sink)
    assert "Nightly ETL for 2026-11-24 failed at clean" in as_text(notice)
    assert _held(local) == {}


def test_a_job_run_that_fails_without_an_error_message_is_told_and_lets_the_day_go(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the quality job's run fails and Glue gives no ErrorMessage
    from local_stack import glue_jobs  # noqa: PLC0415

    def job(runner: Any, run_id: str, arguments: dict[str, str]) -> list[Any]:
        if arguments["--step"] == "quality":
            raise RuntimeError("lost")
        return []

    def without_message(run: Any, message: str) -> None:
        run.status = "FAILED"

    monkeypatch.setitem(glue_jobs.LOCAL_JOBS, "glue/nightly_etl_job.py", job)
    monkeypatch.setattr(stepfunctions_glue, "mark_failed", without_message)
    local, sink = stack
    # WHEN the day runs
    assert _run(local, {"run_date": "2026-11-24"})["status"] == "FAILED"
    # THEN the notice gives the run as Glue describes it, and the day is let go
    (notice,) = _etl_notices(local, sink)
    assert "Nightly ETL for 2026-11-24 failed at data quality" in as_text(notice)
    assert "JobRunState" in as_text(notice)
    assert _held(local) == {}


NOT_DAYS: list[Any] = ["20261124", "yesterday", 20261124, "2026-02-30", "2019-12-31", "", None, ["2026-11-24"]]


def test_a_day_asked_for_that_is_not_one_is_refused_and_writes_no_hold(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN every write to the lock table is watched
    local, sink = stack
    lock_table = local.stack.ref("EtlDayLockTable")
    writes: list[Any] = []

    def watched(name: str) -> Any:
        original = getattr(DynamoDBBackend, name)

        def write(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            if lock_table in repr((args, kwargs)):
                writes.append((name, args, kwargs))
            return original(backend, *args, **kwargs)

        return write

    for name in ("transact_write_items", "put_item", "update_item"):
        monkeypatch.setattr(DynamoDBBackend, name, watched(name))
    for number, value in enumerate(NOT_DAYS):
        # WHEN a run is asked for a day spelt another way, of another type, or that no calendar has
        result = _run(local, {"run_date": value}, name=f"not-a-day-{number}")
        # THEN it is refused: no hold written, no job started
        assert result["status"] == "FAILED" and result["error"] == "InputNotADay", value
        assert writes == [] and glue.started == [] and _held(local) == {}, value
        # AND Slack is told the field, the value as given (JSON) and the one form a day is read in
        (notice,) = _etl_notices(local, sink)[number:]
        text = as_text(notice)
        assert "Nightly ETL refused: its run_date is not a day it reads" in as_text(notice), text
        assert (
            f"its input field run_date is {json.dumps(value, separators=(',', ':'))}, which is not YYYY-MM-DD" in text
        )
        assert '--input "{\\"run_date\\":\\"YYYY-MM-DD\\"}"' in text, text
    # AND the watch sees the holds of a day spelt YYYY-MM-DD (the watch is no blind eye)
    assert _run(local, {"run_date": "2026-11-24"}, name="a-day")["status"] == "SUCCEEDED"
    assert "transact_write_items" in {name for name, _, _ in writes}


def test_a_day_asked_for_that_has_not_ended_is_refused_and_told(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN today in Seoul, a day that has not ended (the clock is the machine's, so is moto's)
    local, sink = stack
    today = business.business_date(datetime.now(UTC)).isoformat()
    # WHEN a back-fill asks for it
    result = _run(local, {"run_date": today}, name="today")
    # THEN it is refused before any hold or job, and Slack is told the value and the command that runs a day
    assert result["status"] == "FAILED" and result["error"] == "DayNotEnded"
    assert glue.started == [] and _held(local) == {}
    (notice,) = _etl_notices(local, sink)
    text = as_text(notice)
    assert f"Nightly ETL refused: its run_date {today} has not ended yet" in as_text(notice), text
    assert f'its input field run_date is "{today}", a day that has not ended yet in Seoul' in text
    assert '--input "{\\"run_date\\":\\"YYYY-MM-DD\\"}"' in text, text


def test_a_hold_cancelled_with_no_holder_is_tried_again_further_apart_then_fails_and_is_told(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN DynamoDB cancels every transaction (a conflict with another transaction), while no run holds a day
    local, sink = stack
    tries: list[Any] = []
    waits: list[int] = []

    def cancel(backend: DynamoDBBackend, items: list[Any]) -> None:
        tries.append(items)
        raise TransactionCanceledException([("TransactionConflict", "Transaction is ongoing for the item", None)])

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", cancel)
    monkeypatch.setattr(WaitFunction, "_wait_interval", lambda self, env, wait_seconds: waits.append(wait_seconds))
    # WHEN a back-fill of the 24th runs
    result = _run(local, {"run_date": "2026-11-24"}, name="backfill-24")
    # THEN it tried 4 times, waiting longer each time, and failed without starting a job
    assert len(tries) == 4 and waits == [2, 4, 8]
    assert result["status"] == "FAILED" and glue.started == []
    # AND Slack is told the step, DynamoDB's reason and what happens next
    (notice,) = _etl_notices(local, sink)
    text = as_text(notice)
    assert "Nightly ETL for 2026-11-24 failed at hold the day" in as_text(notice), text
    assert "DaysNotHeld" in text and "TransactionConflict" in text
    assert "re-run it with aws stepfunctions start-execution" in text
