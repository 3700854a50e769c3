"""The nightly ETL state machine, executed by moto's Step Functions engine on the template's resources."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_glue as glue_task

from local_stack import glue_jobs
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server

ORDER = ["extract", "extract", "extract", "extract", "clean", "curate", "clickstream-hourly", "quality", "publish"]


class GlueRuns:
    """Glue as the state machine meets it: runs that succeed, or fail as told, in the order started."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.started: list[str] = []
        self.arguments: list[dict[str, str]] = []
        self.failures: dict[str, list[str]] = {}  # job suffix -> error codes to raise, one per attempt
        self.messages: dict[str, str] = {}  # job suffix -> the message of the errors it raises
        self.on_start: list[Any] = []  # called with no arguments as each job starts

    def patch(self) -> Any:
        runs = self

        def start(task: Any, env: Any, resource: Any, parameters: dict[str, Any], credentials: Any) -> None:
            step = parameters["JobName"].split("-etl-")[1]
            runs.started.append(step)
            runs.arguments.append(dict(parameters.get("Arguments") or {}))
            for hook in runs.on_start:
                hook()
            codes = runs.failures.get(step)
            if codes:
                code = codes.pop(0)
                message = runs.messages.get(step, f"{step} job: {code}")
                raise ClientError({"Error": {"Code": code, "Message": message}}, "StartJobRun")
            runs.original(task, env, resource, parameters, credentials)

        return start


@pytest.fixture
def glue(stack: tuple[LocalStack, SlackSink], monkeypatch: pytest.MonkeyPatch) -> GlueRuns:
    """Orchestration only: each ETL job's run does nothing (test_etl_day runs the steps themselves)."""
    monkeypatch.setitem(glue_jobs.LOCAL_JOBS, "glue/nightly_etl_job.py", lambda runner, run_id, arguments: [])
    service = glue_task.StateTaskServiceGlue
    runs = GlueRuns(service._handle_start_job_run)
    monkeypatch.setattr(service, "_handle_start_job_run", runs.patch())
    # Retries back off in the test's mind only: the retrier's own view of `time`, not the process's.
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda _: None))
    return runs


@pytest.fixture
def stack(tmp_path: Any) -> Iterator[tuple[LocalStack, SlackSink]]:
    with SlackSink() as sink, LocalStack(slack_sink=sink, server=False, work_dir=tmp_path) as running:
        yield running, sink


def _run(local: LocalStack, payload: dict[str, Any], name: str = "nightly-2026-11-24") -> dict[str, Any]:
    """A night as the scheduler starts it (as its role), or, given a `run_date`, as an operator's back-fill."""
    sfn = local.client("stepfunctions")
    if "run_date" in payload:
        arn = local.stack.ref("NightlyEtlStateMachine")
        execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    else:
        execution = {"executionArn": local.fire_state_machine_schedule("Nightly", name=name, payload=payload)}
    deadline = time.monotonic() + 120  # a hang, not a speed: a night takes about 15 s here, more on a loaded machine
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError("the execution did not finish")


def _etl_notices(local: LocalStack, sink: SlackSink) -> list[Any]:
    local.deliver_pending()
    # A night's notices are told in its run's thread: as the parent's first news, or as replies.
    return [m for m in sink.messages if "Nightly ETL" in as_text(m)]


def test_a_night_runs_every_step_in_order_and_says_so(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, sink = stack
    result = _run(local, {"run_date": "2026-11-24"})
    assert result["status"] == "SUCCEEDED"
    assert sorted(glue.started[:4]) == ORDER[:4] and glue.started[4:][:1] == ["clean"]
    assert sorted(glue.started[5:7]) == ["clickstream-hourly", "curate"] and glue.started[7:] == ["quality", "publish"]
    (message,) = _etl_notices(local, sink)
    assert "Nightly ETL for 2026-11-24 succeeded" in as_text(message)


def test_a_concurrency_error_is_retried_and_the_night_still_succeeds(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    local, _ = stack
    glue.failures["clean"] = ["ConcurrentRunsExceededException"]
    assert _run(local, {"run_date": "2026-11-24"})["status"] == "SUCCEEDED"
    assert glue.started.count("clean") == 2


def test_a_failed_step_stops_the_night_and_tells_slack_which_and_why(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    local, sink = stack
    glue.failures["quality"] = ["EntityNotFoundException"]
    result = _run(local, {"run_date": "2026-11-24"})
    assert result["status"] == "FAILED"
    assert "publish" not in glue.started  # a day that failed its checks is not published
    (message,) = _etl_notices(local, sink)
    assert "Nightly ETL for 2026-11-24 failed at data quality" in as_text(message)
    text = as_text(message)
    assert "Glue.EntityNotFoundException" in text
    assert "quality job: EntityNotFoundException" in text


def test_without_a_date_the_run_is_for_yesterday_in_seoul(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, _ = stack
    assert _run(local, {})["status"] == "SUCCEEDED"


def test_a_job_run_that_fails_is_caught_with_glues_error_message(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the quality job's run fails, as a day that breaks a rule makes it fail
    def job(runner: Any, run_id: str, arguments: dict[str, str]) -> list[Any]:
        if arguments["--step"] == "quality":
            raise RuntimeError('2026-11-24: 1 data-quality rule(s) failed: sales_fact: IsComplete "order_id"')
        return []

    monkeypatch.setitem(glue_jobs.LOCAL_JOBS, "glue/nightly_etl_job.py", job)
    local, sink = stack
    # WHEN the night runs
    result = _run(local, {"run_date": "2026-11-24"})
    # THEN the .sync task failed as Glue's do, and the notice gives the run's own error message
    assert result["status"] == "FAILED" and "publish" not in glue.started
    notice = next(m for m in _etl_notices(local, sink) if "failed at" in as_text(m))
    assert (
        "The data quality step failed (States.TaskFailed): RuntimeError: 2026-11-24: 1 data-quality rule(s) failed: "
        'sales_fact: IsComplete "order_id". Nothing of that day is published' in as_text(notice)
    )


def test_the_scheduled_run_is_for_the_seoul_day_that_just_ended(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN the schedule's input: 02:00 on the 25th in Seoul is 17:00 UTC on the 24th
    local, _ = stack
    schedule = local.stack.template["Resources"]["NightlyEtlStateMachine"]["Properties"]["Events"]
    (event,) = schedule.values()
    assert json.loads(event["Properties"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    # WHEN the scheduler starts the night
    assert _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"})["status"] == "SUCCEEDED"
    started = [u for u in local.iam_ledger.uses if u.action == "states:StartExecution"]
    assert [u.principal for u in started] == ["NightlyEtlStateMachineNightly"]
    # THEN every job runs for the 24th, worked out once for the whole night, and the extracts catch up
    assert {a["--run_date"] for a in glue.arguments} == {"2026-11-24"}
    assert [a["--catch_up"] for a in glue.arguments if "--table" in a] == ["true"] * 4


def test_a_run_for_a_given_day_extracts_that_day_only(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, _ = stack
    assert _run(local, {"run_date": "2026-11-20"})["status"] == "SUCCEEDED"
    assert {a["--run_date"] for a in glue.arguments} == {"2026-11-20"}
    assert [a["--catch_up"] for a in glue.arguments if "--table" in a] == ["false"] * 4


STEP_NAMES = {
    "extract": "extract",
    "clean": "clean",
    "curate": "curate",
    "clickstream-hourly": "curate",
    "quality": "data quality",
    "publish": "publish",
}


@pytest.mark.parametrize("job", list(STEP_NAMES))
def test_a_failure_at_any_step_of_a_day_asked_for_names_the_step_and_the_command_to_re_run_it(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, job: str
) -> None:
    # GIVEN the step's Glue job refuses to start (not an error that is retried)
    local, sink = stack
    glue.failures[job] = ["EntityNotFoundException"]
    # WHEN a day asked for by date runs
    assert _run(local, {"run_date": "2026-11-20"})["status"] == "FAILED"
    # THEN Slack names the step, and gives the exact command that re-runs the day
    (message,) = _etl_notices(local, sink)
    assert f"Nightly ETL for 2026-11-20 failed at {STEP_NAMES[job]}" in as_text(message)
    arn = local.stack.ref("NightlyEtlStateMachine")
    command = (
        f'aws stepfunctions start-execution --state-machine-arn {arn} --input "{{\\"run_date\\":\\"2026-11-20\\"}}"'
    )
    assert f"no night will catch it up: re-run it with {command}" in as_text(message)
    # AND the day is let go, so that the re-run may hold it
    assert "Item" not in _hold(local, "2026-11-20")


def test_a_failed_scheduled_night_says_the_next_night_catches_up(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    local, sink = stack
    glue.failures["publish"] = ["EntityNotFoundException"]
    assert _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"})["status"] == "FAILED"
    (message,) = _etl_notices(local, sink)
    assert "the next scheduled night catches up" in as_text(message)


def _hold(local: LocalStack, day: str) -> dict[str, Any]:
    table = local.stack.ref("EtlDayLockTable")
    return dict(local.client("dynamodb").get_item(TableName=table, Key={"run_date": {"S": day}}, ConsistentRead=True))


def test_a_second_run_of_a_day_being_run_is_refused_and_slack_is_told_which_run_holds_it(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns
) -> None:
    # GIVEN the scheduled night of the 24th holds the day (it is still running)
    local, sink = stack
    table = local.stack.ref("EtlDayLockTable")
    holder = {"run_date": {"S": "2026-11-24"}, "execution": {"S": "arn:...:execution:nightly:the-night"}}
    local.client("dynamodb").put_item(TableName=table, Item=holder | {"held_since": {"S": "2026-11-24T17:00:01Z"}})
    # WHEN a back-fill of the same day starts
    result = _run(local, {"run_date": "2026-11-24"}, name="backfill-2026-11-24")
    # THEN it is refused before any job starts, the night's hold stands, and Slack says who holds the day
    assert result["status"] == "FAILED" and glue.started == []
    assert _hold(local, "2026-11-24")["Item"]["execution"] == holder["execution"]
    (message,) = _etl_notices(local, sink)
    assert "Nightly ETL for 2026-11-24 refused: another run holds the day" in as_text(message)
    text = as_text(message)
    assert "backfill-2026-11-24 of 2026-11-24 did not start: arn:...:execution:nightly:the-night" in text
    assert "re-run the day with aws stepfunctions start-execution" in text


def test_a_run_holds_its_day_only_while_it_runs(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, _ = stack
    assert _run(local, {"run_date": "2026-11-24"}, name="first")["status"] == "SUCCEEDED"
    assert "Item" not in _hold(local, "2026-11-24")
    assert _run(local, {"run_date": "2026-11-24"}, name="second")["status"] == "SUCCEEDED"


def test_the_staged_steps_work_in_the_runs_own_staging(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, _ = stack
    assert _run(local, {"run_date": "2026-11-24"}, name="night-a")["status"] == "SUCCEEDED"
    staged = [a for a in glue.arguments if "--table" not in a and a != {"--run_date": "2026-11-24"}]
    assert len(staged) == 4 and {a["--run_id"] for a in staged} == {"night-a"}
