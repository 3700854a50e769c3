"""Run a template's functions in this process, as Lambda would run them.

Each function's module is imported from its CodeUri with its layers on the path and its
environment applied, once; each invocation applies that environment again, gets a
Lambda-like context, and writes the function's output to its own log file. Asynchronous
invocations get Lambda's retries and on-failure destination as the template declares them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import boto3
from aws_lambda_powertools.utilities.parameters import base as parameters_base

from local_stack.iam.principals import Principals
from local_stack.provision import Stack

# Environment every local function gets on top of its own: there is no X-Ray daemon here.
LOCAL_RUNTIME_ENV = {"POWERTOOLS_TRACE_DISABLED": "true", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}
_INVOKE_LOCK = threading.RLock()


class _LogRouter(io.TextIOBase):
    """Stands in for stdout while functions run, writing to the running function's log file.

    Loggers bind to stdout once, at import, and the logging module keeps them per name across
    functions and stacks: the stream they bind to must outlive every log file.
    """

    def __init__(self) -> None:
        self.target: IO[str] | None = None

    def write(self, text: str) -> int:
        target = self.target or sys.__stdout__
        assert target is not None
        return target.write(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()

    @contextlib.contextmanager
    def to(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = self.target
        with path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(self):
            self.target = log
            try:
                yield
            finally:
                self.target = previous


_LOG_ROUTER = _LogRouter()


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str
    event: Mapping[str, Any]
    attempts: int
    result: Any = None
    error: str | None = None


@contextlib.contextmanager
def _environment(values: Mapping[str, str], providers: dict[str, Any]) -> Iterator[None]:
    # botocore's default session caches the credentials it first found: without a fresh one, function B's
    # module-level client would sign with function A's role (docs/design/iam-enforced-locally.md, PoC 5.4).
    # Powertools keeps its parameter providers (each with a client) in one module-global dict, which in
    # AWS is each function's own process's: each local function keeps its own, swapped in and out here.
    saved = dict(os.environ)
    os.environ.update(values)
    boto3.DEFAULT_SESSION = None
    shared: dict[str, Any] = parameters_base.DEFAULT_PROVIDERS  # type: ignore[attr-defined]  # not in its __all__
    shared.clear()
    shared.update(providers)
    try:
        yield
    finally:
        providers.clear()
        providers.update(shared)
        shared.clear()
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = None


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    handler_path: Path
    handler_name: str
    paths: list[Path]
    env: dict[str, str]
    timeout: int
    memory: int
    max_retries: int
    on_failure: str | None
    log_path: Path
    _module: ModuleType | None = None
    _providers: dict[str, Any] = field(default_factory=dict)  # Powertools' parameter providers, its own

    def _load(self) -> Callable[[Any, Any], Any]:
        if self._module is None:
            spec = importlib.util.spec_from_file_location(f"shoplake_local_fn_{self.logical_id}", self.handler_path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            for path in reversed(self.paths):
                if str(path) not in sys.path:
                    sys.path.insert(0, str(path))
            with _LOG_ROUTER.to(self.log_path):
                spec.loader.exec_module(module)
            self._module = module
        return getattr(self._module, self.handler_name)  # type: ignore[no-any-return]

    def invoke(self, event: Mapping[str, Any]) -> Any:
        """One synchronous invocation; the handler's exception propagates, as Lambda reports it."""
        with _INVOKE_LOCK, _environment(self.env, self._providers):
            handler = self._load()
            context = LambdaContext(self.name, self.arn, self.memory, self.timeout)
            with _LOG_ROUTER.to(self.log_path):
                return handler(json.loads(json.dumps(event)), context)

    def invoke_async(self, event: Mapping[str, Any], session: boto3.Session) -> Invocation:
        """Lambda's asynchronous invocation: retries, then the on-failure destination (an SQS queue or SNS topic)."""
        attempts, last_error = 0, None
        for _ in range(self.max_retries + 1):
            attempts += 1
            try:
                return Invocation(self.name, event, attempts, result=self.invoke(event))
            except Exception as error:  # noqa: BLE001 - any handler error is a failed invocation, as in Lambda
                last_error = error
                with _LOG_ROUTER.to(self.log_path):
                    _LOG_ROUTER.write(f"invocation {attempts} failed:\n{traceback.format_exc()}\n")
        assert last_error is not None
        if self.on_failure:
            record = {
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(),
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": f"{self.arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorMessage": str(last_error), "errorType": type(last_error).__name__},
            }
            if self.on_failure.startswith("arn:aws:sns:"):
                session.client("sns").publish(TopicArn=self.on_failure, Message=json.dumps(record))
            else:
                sqs = session.client("sqs")
                url = sqs.get_queue_url(QueueName=self.on_failure.rsplit(":", 1)[-1])["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        return Invocation(self.name, event, attempts, error=f"{type(last_error).__name__}: {last_error}")


def load_functions(
    stack: Stack, log_dir: Path, extra_env: Mapping[str, str], principals: Principals | None = None
) -> dict[str, LocalFunction]:
    """The template's functions; each signs with its role's keys from `principals` (as Lambda hands them over)."""
    functions = {}
    for logical_id in stack.logical_ids_of_type("AWS::Serverless::Function"):
        props = stack.properties[logical_id]
        code = stack.base_dir / props["CodeUri"]
        module_name, handler_name = props["Handler"].rsplit(".", 1)
        layer_paths = []
        for layer_arn in props.get("Layers") or []:
            for layer_id in stack.logical_ids_of_type("AWS::Serverless::LayerVersion"):
                if stack.ref(layer_id) == layer_arn:
                    layer_paths.append(stack.base_dir / stack.properties[layer_id]["ContentUri"])
        invoke_config = props.get("EventInvokeConfig") or {}
        on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        name = stack.ref(logical_id)
        env = {k: str(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()}
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=name,
            arn=stack.attr(logical_id, "Arn"),
            handler_path=code / (module_name.replace(".", "/") + ".py"),
            handler_name=handler_name,
            paths=[code, *layer_paths],
            env={
                **env,
                **LOCAL_RUNTIME_ENV,
                **extra_env,
                **(principals.credentials(logical_id).environment() if principals else {}),
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
            },
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            max_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure=on_failure,
            log_path=log_dir / f"{name}.log",
        )
    return functions
