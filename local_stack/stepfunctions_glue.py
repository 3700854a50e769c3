"""Step Functions' `glue:startJobRun.sync`, locally: moto's engine starts the run, the local Glue runs it.

moto executes the state machine's ASL, but its Glue integration needs three things to
behave as AWS's does: its `.sync` path calls a callback endpoint only task-token
integrations have (every `.sync` task dies), its Glue run output carries datetimes its
execution history cannot store, and its job runs always succeed without running anything.
Here the first two are mended, and each started run is carried out at once by the local
stack's GlueRunner (the job's own code), a failed run ending FAILED with its error message,
so that the state machine waits, retries and catches as it does in AWS. One more mend: a
`States.*` error leaving a Parallel branch (a failed `.sync` task's States.TaskFailed) makes
moto's engine itself fail instead of reaching the Parallel state's Catch. And an `aws-sdk:s3:getObject`
task gives its `Body` as text, as AWS's SDK integration does (moto's leaves the stream in the state), and
its errors are named `S3.<Error>Exception` (`S3.NoSuchKeyException`), as AWS names them (moto's `s3.`).
"""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from moto.glue.models import FakeJobRun
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as sdk_task_module,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_glue as glue_task
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)


def _guarded_integration_pattern() -> Callable[..., Any]:
    method = callback_task.StateTaskServiceCallback._eval_integration_pattern
    source = textwrap.dedent(inspect.getsource(method)).replace(
        "callback_endpoint.interrupt_all()", "callback_endpoint and callback_endpoint.interrupt_all()"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, inspect.getsourcefile(method) or "moto", "exec"), vars(callback_task), namespace)  # noqa: S102
    mended: Callable[..., Any] = namespace[method.__name__]
    return mended


def _json_safe(original: Callable[..., Any]) -> Callable[..., Any]:
    def sync(task: Any, env: Any, resource: Any, parameters: dict[str, Any], credentials: Any) -> Any:
        resolve = original(task, env, resource, parameters, credentials)

        def resolved() -> Any:
            result = resolve()
            return None if result is None else json.loads(json.dumps(result, default=str))

        return resolved

    return sync


def _bodies_as_text(original: Callable[..., Any]) -> Callable[..., Any]:
    def evaluate(task: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(task, env, *args, **kwargs)
        response = env.stack[-1]
        if isinstance(response, dict) and hasattr(response.get("Body"), "read"):
            env.stack[-1] = {**response, "Body": response["Body"].read().decode()}

    return evaluate


def _then_run(original: Callable[..., Any], run_started: Callable[[], object]) -> Callable[..., Any]:
    def start(task: Any, env: Any, resource: Any, parameters: dict[str, Any], credentials: Any) -> None:
        original(task, env, resource, parameters, credentials)
        run_started()

    return start


def _with_error_message(original: Callable[[FakeJobRun], dict[str, Any]]) -> Callable[[FakeJobRun], dict[str, Any]]:
    def as_dict(run: FakeJobRun) -> dict[str, Any]:
        described = original(run)
        message = getattr(run, "error_message", None)
        return {**described, "ErrorMessage": message} if message else described

    return as_dict


def mark_failed(run: FakeJobRun, message: str) -> None:
    """End a moto job run as Glue ends a failed one."""
    run.status = "FAILED"
    run.error_message = message  # type: ignore[attr-defined]  # what Glue's GetJobRun calls ErrorMessage


def _error_name(error_name: str) -> ErrorName:
    """A branch's error by its name, as moto's own names or a custom one."""
    if error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


@contextmanager
def glue_runs_carried_out(run_started: Callable[[], object]) -> Iterator[None]:
    """While open, each `.sync` Glue task's run is carried out by `run_started` before it is polled."""
    glue = glue_task.StateTaskServiceGlue
    with ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(
                callback_task.StateTaskServiceCallback, "_eval_integration_pattern", _guarded_integration_pattern()
            )
        )
        start = _then_run(glue._handle_start_job_run, run_started)
        patches.enter_context(mock.patch.object(glue, "_handle_start_job_run", start))
        patches.enter_context(
            mock.patch.object(glue, "_sync_to_start_job_run", _json_safe(glue._sync_to_start_job_run))
        )
        patches.enter_context(mock.patch.object(FakeJobRun, "as_dict", _with_error_message(FakeJobRun.as_dict)))
        patches.enter_context(mock.patch.object(branches_decl, "CustomErrorName", _error_name))
        sdk_task = _bodies_as_text(StateTaskServiceAwsSdk._eval_service_task)
        patches.enter_context(mock.patch.object(StateTaskServiceAwsSdk, "_eval_service_task", sdk_task))
        # "S3.BucketAlreadyExistsException" (Step Functions Developer Guide, "AWS SDK service integrations").
        patches.enter_context(mock.patch.dict(sdk_task_module._SERVICE_ERROR_NAMES, {"s3": "S3"}))
        yield
