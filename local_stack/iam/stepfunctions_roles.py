"""moto's Step Functions engine, signing each service integration as the state machine's role.

moto's `boto_client_for` signs every integration call with the fixed keys `ak`/`sk`, whatever the
execution's role (docs/design/iam-enforced-locally.md section 2). Here each task records, for its
thread, the role its execution runs as (`StateTaskService._eval_execution`), and every module of
the engine that imported `boto_client_for` gets a client built with that role's keys instead.
Parallel branches run in threads of their own and set it per task.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_factory,  # noqa: F401 - imports every integration module, so each is patched
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.utils import boto_client as engine_clients

from local_stack.iam.principals import Principals

_ENGINE = "moto.stepfunctions.parser"


def _eval_as_role(original: Callable[..., Any], current: threading.local) -> Callable[..., Any]:
    def evaluate(task: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        current.role_arn = env.aws_execution_details.role_arn
        return original(task, env, *args, **kwargs)

    return evaluate


def _client_as_role(
    original: Callable[..., BaseClient], principals: Principals, current: threading.local
) -> Callable[..., BaseClient]:
    def client(region: str, service: str, state_credentials: Any = None) -> BaseClient:
        engine_client = original(region, service, state_credentials)
        role_arn = getattr(current, "role_arn", None)
        if role_arn is None or role_arn not in principals.role_arns():
            return engine_client  # a state machine that is none of the template's principals
        # a fresh session (it gets the IAM hook), the engine's own endpoint and config (no retries, its timeouts)
        built: BaseClient = principals.session(principals.for_role_arn(role_arn)).client(
            service, region_name=region, endpoint_url=engine_client.meta.endpoint_url, config=engine_client.meta.config
        )
        return built

    return client


@contextmanager
def state_machine_tasks_as_role(principals: Principals) -> Iterator[None]:
    """While open, the engine's integration calls sign as the executing state machine's role."""
    current = threading.local()
    original = engine_clients.boto_client_for
    as_role = _client_as_role(original, principals, current)
    with ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(
                StateTaskService, "_eval_execution", _eval_as_role(StateTaskService._eval_execution, current)
            )
        )
        for name, module in list(sys.modules.items()):
            if name.startswith(_ENGINE) and getattr(module, "boto_client_for", None) is original:
                patches.enter_context(mock.patch.object(module, "boto_client_for", as_role))
        yield
