"""The nightly ETL state machine, executed by moto's Step Functions engine on the template's resources."""

from __future__ import annotations

import inspect
import json
import textwrap
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_glue as glue_task

from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack

ORDER = ["extract", "extract", "extract", "extract", "clean", "curate", "clickstream-hourly", "quality", "publish"]


class GlueRuns:
    """Glue as the state machine meets it: runs that succeed, or fail as told, in the order started."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.started: list[str] = []
        self.failures: dict[str, list[str]] = {}  # job suffix -> error codes to raise, one per attempt

    def patch(self) -> Any:
        runs = self

        def start(task: Any, env: Any, resource: Any, parameters: dict[str, Any], credentials: Any) -> None:
            step = parameters["JobName"].split("-etl-")[1]
            runs.started.append(step)
            codes = runs.failures.get(step)
            if codes:
                code = codes.pop(0)
                raise ClientError({"Error": {"Code": code, "Message": f"{step} job: {code}"}}, "StartJobRun")
            runs.original(task, env, resource, parameters, credentials)

        return start


def _json_safe_sync(original: Any) -> Any:
    """moto's .sync resolver returns Glue's datetimes, which its execution history cannot store."""

    def sync(task: Any, env: Any, resource: Any, parameters: dict[str, Any], credentials: Any) -> Any:
        resolve = original(task, env, resource, parameters, credentials)

        def resolved() -> Any:
            result = resolve()
            return None if result is None else json.loads(json.dumps(result, default=str))

        return resolved

    return sync


def _tolerate_no_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's .sync path calls `interrupt_all()` on a callback endpoint only task-token integrations
    have, so every glue:startJobRun.sync dies; the same method, guarded, is put in its place."""
    method = callback_task.StateTaskServiceCallback._eval_integration_pattern
    source = textwrap.dedent(inspect.getsource(method)).replace(
        "callback_endpoint.interrupt_all()", "callback_endpoint and callback_endpoint.interrupt_all()"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, inspect.getsourcefile(method) or "moto", "exec"), vars(callback_task), namespace)  # noqa: S102
    monkeypatch.setattr(callback_task.StateTaskServiceCallback, "_eval_integration_pattern", namespace[method.__name__])


@pytest.fixture
def glue(monkeypatch: pytest.MonkeyPatch) -> GlueRuns:
    _tolerate_no_callback(monkeypatch)
    service = glue_task.StateTaskServiceGlue
    runs = GlueRuns(service._handle_start_job_run)
    monkeypatch.setattr(service, "_handle_start_job_run", runs.patch())
    monkeypatch.setattr(service, "_sync_to_start_job_run", _json_safe_sync(service._sync_to_start_job_run))
    # Retries back off in the test's mind only: the retrier's own view of `time`, not the process's.
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda _: None))
    return runs


@pytest.fixture
def stack(tmp_path: Any) -> Iterator[tuple[LocalStack, SlackSink]]:
    with SlackSink() as sink, LocalStack(slack_sink=sink, server=False, work_dir=tmp_path) as running:
        yield running, sink


def _run(local: LocalStack, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = local.client("stepfunctions")
    arn = local.stack.ref("NightlyEtlStateMachine")
    execution = sfn.start_execution(stateMachineArn=arn, name="nightly-2026-11-24", input=json.dumps(payload))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError("the execution did not finish")


def _etl_notices(local: LocalStack, sink: SlackSink) -> list[Any]:
    # The local Glue runner also reports the ETL jobs' runs (it has no local counterpart for them yet).
    local.deliver_pending()
    return [m for m in sink.messages if "Nightly ETL" in m.text]


def test_a_night_runs_every_step_in_order_and_says_so(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, sink = stack
    result = _run(local, {"run_date": "2026-11-24"})
    assert result["status"] == "SUCCEEDED"
    assert sorted(glue.started[:4]) == ORDER[:4] and glue.started[4:][:1] == ["clean"]
    assert sorted(glue.started[5:7]) == ["clickstream-hourly", "curate"] and glue.started[7:] == ["quality", "publish"]
    (message,) = _etl_notices(local, sink)
    assert message.text.startswith("[OK] Nightly ETL for 2026-11-24 succeeded")


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
    assert message.text.startswith("[Critical] Nightly ETL for 2026-11-24 failed at data quality")
    text = as_text(message)
    assert "Glue.EntityNotFoundException" in text
    assert "quality job: EntityNotFoundException" in text


def test_without_a_date_the_run_is_for_yesterday_in_seoul(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    local, _ = stack
    assert _run(local, {})["status"] == "SUCCEEDED"
