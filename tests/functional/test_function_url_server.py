"""A local function URL answers HTTP as Lambda does: the resource policy first, then the function, then its result.

Lambda Developer Guide, "Control access to Lambda function URLs": for AuthType NONE the function's policy must
allow anyone `lambda:InvokeFunctionUrl` (with `lambda:FunctionUrlAuthType` NONE) and, since October 2025,
`lambda:InvokeFunction` (with `lambda:InvokedViaFunctionUrl`); else Lambda answers 403 and the function never runs.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local_stack.function_url_server import ANONYMOUS, FunctionUrlServer
from local_stack.iam.model import Ledger
from local_stack.iam.resource_policies import _permission_statement

pytestmark = pytest.mark.server

ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:shoplake-dev-echo"
PUBLIC_URL = "https://shoplake-dev-echo.lambda-url.ap-northeast-2.on.aws/"
# What SAM writes for FunctionUrlConfig AuthType NONE, and the permission a function URL needs since October 2025.
URL_PERMISSION = {"Action": "lambda:InvokeFunctionUrl", "Principal": "*", "FunctionUrlAuthType": "NONE"}
INVOKE_PERMISSION = {"Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": True}


@dataclass
class _Echo:
    """A function that answers with what it was given (or fails), standing in for LocalFunction."""

    log_path: Path
    fail: bool = False
    logical_id: str = "EchoFunction"
    arn: str = ARN
    events: list[Mapping[str, Any]] = field(default_factory=list)

    def invoke(self, event: Mapping[str, Any]) -> Any:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("the function failed")
        return {"statusCode": 202, "headers": {"X-Echo": event["requestContext"]["http"]["method"]}, "body": "seen"}


@dataclass
class _Policies:
    statements: list[dict[str, Any]]

    def resource_policy(self, resource_arn: str) -> dict[str, Any] | None:
        return {"Version": "2012-10-17", "Statement": self.statements} if resource_arn == ARN else None


def _serve(function: _Echo, *permissions: Mapping[str, Any], ledger: Ledger | None = None) -> FunctionUrlServer:
    statements = [_permission_statement(p, ARN, f"P{i}") for i, p in enumerate(permissions)]
    return FunctionUrlServer(function, PUBLIC_URL, registry=_Policies(statements), ledger=ledger).start()  # type: ignore[arg-type]


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[_Echo]:
    yield _Echo(tmp_path / "echo.log")


def _post(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url + "hook?a=1", data=b"x=1", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answered:
            return answered.status, dict(answered.headers.items()), answered.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers.items()), refused.read()


def test_a_url_anyone_may_call_runs_the_function_on_the_event_and_answers_with_its_result(echo: _Echo) -> None:
    # GIVEN a function whose policy has both permissions
    ledger = Ledger()
    server = _serve(echo, URL_PERMISSION, INVOKE_PERMISSION, ledger=ledger)
    try:
        # WHEN a form is posted to its loopback URL
        status, headers, body = _post(server.url)
    finally:
        server.stop()
    # THEN the function got Lambda's event for it, and its result is the answer
    (event,) = echo.events
    assert (event["rawPath"], event["rawQueryString"], event["isBase64Encoded"]) == ("/hook", "a=1", True)
    assert (status, headers["X-Echo"], body) == (202, "POST", b"seen")
    # AND both checks are recorded as the anonymous caller's, allowed
    assert [(u.principal, u.action, u.allowed) for u in ledger.uses] == [
        (ANONYMOUS, "lambda:InvokeFunctionUrl", True),
        (ANONYMOUS, "lambda:InvokeFunction", True),
    ]


def test_without_the_invoke_permission_the_url_answers_403_and_the_function_never_runs(echo: _Echo) -> None:
    # GIVEN a function whose policy lacks lambda:InvokeFunction through the URL (an older SAM transform's output)
    ledger = Ledger()
    server = _serve(echo, URL_PERMISSION, ledger=ledger)
    try:
        status, _, body = _post(server.url)
    finally:
        server.stop()
    # THEN Lambda's 403, and the refusal is in the ledger for the IAM report
    assert (status, body) == (403, b'{"Message": "Forbidden"}')
    assert echo.events == []
    assert [u.action for u in ledger.uses if not u.allowed] == ["lambda:InvokeFunction"]


def test_a_function_error_is_answered_502_and_written_to_its_log(echo: _Echo) -> None:
    echo.fail = True
    server = _serve(echo, URL_PERMISSION, INVOKE_PERMISSION)
    try:
        status, _, _ = _post(server.url)
    finally:
        server.stop()
    assert status == 502
    assert "RuntimeError: the function failed" in echo.log_path.read_text(encoding="utf-8")
