"""What Step Functions sends EventBridge as an execution changes status, for the local stack.

Standard workflows emit "Step Functions Execution Status Change" to the default bus whenever an execution
starts (RUNNING) and ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED); moto does not. The local stack watches
its state machines' executions and puts those events itself, so that the notifier's rule matches them as
EventBridge would. Format: Step Functions Developer Guide, "Automating Step Functions event delivery with
EventBridge" (sample: tests/events/eventbridge_stepfunctions_execution_running__awsdocs.json).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def _millis(value: object) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def status_change(described: Mapping[str, Any], status: str) -> dict[str, Any]:
    """The EventBridge entry (PutEvents' `Entries` item) for `described` (a DescribeExecution answer) at `status`.

    `status` is RUNNING for the start, else the execution's terminal status; the detail carries
    `executionArn`, `stateMachineArn`, `name`, `status`, `startDate`/`stopDate` (epoch milliseconds or null),
    `input`, `output` and, for a failure, `error` and `cause`, as Step Functions writes them.
    """
    ended = status != "RUNNING"
    detail: dict[str, Any] = {
        "executionArn": described["executionArn"],
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": status,
        "startDate": _millis(described.get("startDate")),
        "stopDate": _millis(described.get("stopDate")) if ended else None,
        "input": described.get("input"),
        "inputDetails": {"included": True},
        "output": described.get("output") if ended else None,
        "outputDetails": {"included": True} if ended and described.get("output") is not None else None,
    }
    if ended and described.get("error"):
        detail["error"] = described["error"]
        detail["cause"] = described.get("cause")
    return {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(detail),
        "Resources": [described["executionArn"]],
    }


class ExecutionWatch:
    """Puts each execution's status changes on the bus once: RUNNING first, then its terminal status.

    `stepfunctions` and `events` are boto3 clients of the local stack; `state_machines` the ARNs to watch.
    An execution that started and ended between two looks still gets its RUNNING event, before the end.
    """

    def __init__(self, stepfunctions: Any, events: Any, state_machines: Iterable[str]) -> None:
        self._sfn = stepfunctions
        self._events = events
        self._machines = list(state_machines)
        self._sent: set[tuple[str, str]] = set()

    def emit_new(self) -> int:
        """Put every status change not yet put; returns how many events were put."""
        entries = []
        for machine in self._machines:
            pages = self._sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            listed = [e for page in pages for e in page["executions"]]
            for execution in sorted(listed, key=lambda e: e["startDate"]):
                arn, status = execution["executionArn"], execution["status"]
                wanted = ["RUNNING"] + ([status] if status != "RUNNING" else [])
                missing = [s for s in wanted if (arn, s) not in self._sent]
                if not missing:
                    continue
                described = self._sfn.describe_execution(executionArn=arn)
                for step in missing:
                    entries.append(status_change(described, step))
                    self._sent.add((arn, step))
        for start in range(0, len(entries), 10):  # PutEvents takes at most 10 entries
            self._events.put_events(Entries=entries[start : start + 10])
        return len(entries)
