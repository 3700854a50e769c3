"""The local stack's Step Functions status-change events: shaped as AWS's, each put once, RUNNING first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from local_stack.stepfunctions_events import ExecutionWatch, status_change
from tests.conftest import aws_sample

MACHINE = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:shoplake-dev-nightly-etl"
EXECUTION = "arn:aws:states:ap-northeast-2:123456789012:execution:shoplake-dev-nightly-etl:night-1"


def _described(status: str) -> dict[str, Any]:
    started, stopped = datetime(2026, 11, 24, 17, 0, tzinfo=UTC), datetime(2026, 11, 24, 17, 20, tzinfo=UTC)
    return {
        "executionArn": EXECUTION,
        "stateMachineArn": MACHINE,
        "name": "night-1",
        "status": status,
        "startDate": started,
        "input": '{"run_date": "2026-11-24"}',
    } | ({"stopDate": stopped, "output": "{}"} if status != "RUNNING" else {})


def test_the_event_has_the_documented_detail() -> None:
    sample = aws_sample("eventbridge_stepfunctions_execution_running__awsdocs.json")
    entry = status_change(_described("RUNNING"), "RUNNING")
    detail = json.loads(entry["Detail"])
    assert set(detail) == set(sample["detail"])
    assert (entry["Source"], entry["DetailType"]) == (sample["source"], sample["detail-type"])
    assert detail["startDate"] == 1795539600000
    assert detail["stopDate"] is None
    assert entry["Resources"] == [EXECUTION]


def test_a_failure_carries_its_error_and_cause() -> None:
    described = _described("FAILED") | {"error": "States.TaskFailed", "cause": "extract failed"}
    detail = json.loads(status_change(described, "FAILED")["Detail"])
    assert (detail["status"], detail["error"], detail["cause"]) == ("FAILED", "States.TaskFailed", "extract failed")
    assert detail["stopDate"] == 1795540800000


class _Sfn:
    def __init__(self) -> None:
        self.status = "RUNNING"

    def get_paginator(self, name: str) -> Any:
        sfn = self

        class _Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                assert name == "list_executions"
                assert kwargs == {"stateMachineArn": MACHINE}
                return [{"executions": [{"executionArn": EXECUTION, "status": sfn.status, "startDate": 1}]}]

        return _Pages()

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return _described(self.status)


class _Events:
    def __init__(self) -> None:
        self.put: list[str] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> None:  # noqa: N803 - boto3's name
        self.put += [json.loads(e["Detail"])["status"] for e in Entries]


def test_each_status_is_put_once_and_running_comes_first() -> None:
    sfn, events = _Sfn(), _Events()
    watch = ExecutionWatch(sfn, events, [MACHINE])
    assert watch.emit_new() == 1
    assert watch.emit_new() == 0
    sfn.status = "SUCCEEDED"
    assert watch.emit_new() == 1
    assert events.put == ["RUNNING", "SUCCEEDED"]


def test_an_execution_seen_only_after_it_ended_still_starts_with_running() -> None:
    sfn, events = _Sfn(), _Events()
    sfn.status = "FAILED"
    ExecutionWatch(sfn, events, [MACHINE]).emit_new()
    assert events.put == ["RUNNING", "FAILED"]
