"""A nightly ETL run is one Slack thread: its own notices are steps in `sfn:<execution ARN>`, through moto's engine."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack import glue_jobs
from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack
from shoplake.alerts.model import Phase, ThreadRef
from shoplake.alerts.sources import read_alerts
from tests.functional.test_nightly_etl_state_machine import (  # noqa: F401 - the fixtures
    GlueRuns,
    _run,
    glue,
    stack,
)

pytestmark = pytest.mark.server


def _notice_threads(local: LocalStack) -> list[ThreadRef | None]:
    """The threads of the nightly ETL notices the Slack notifier was given, as it reads them."""
    local.deliver_pending()
    notifier = local.router.functions["SlackNotifierFunction"].name
    return [
        alert.thread
        for invocation in local.router.history
        if invocation.function == notifier
        for alert in read_alerts(invocation.event)
        if alert.title.startswith("Nightly ETL")
    ]


def test_the_summary_of_a_night_is_a_step_in_its_run_thread(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
) -> None:
    local, _ = stack
    result = _run(local, {"run_date": "2026-11-24"})
    assert result["status"] == "SUCCEEDED"
    assert _notice_threads(local) == [ThreadRef(f"sfn:{result['executionArn']}", "published", Phase.PROGRESS)]


def test_a_failed_step_is_a_step_in_its_run_thread_naming_the_step(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the publish job fails
    def job(runner: Any, run_id: str, arguments: dict[str, str]) -> list[Any]:
        if arguments["--step"] == "publish":
            raise RuntimeError("the publish failed")
        return []

    monkeypatch.setitem(glue_jobs.LOCAL_JOBS, "glue/nightly_etl_job.py", job)
    local, _ = stack
    # WHEN the night runs
    result = _run(local, {"run_date": "2026-11-24"})
    # THEN its failure notice replies in the run's thread, the step named as the thread's state
    assert result["status"] == "FAILED"
    assert _notice_threads(local) == [ThreadRef(f"sfn:{result['executionArn']}", "failed at publish", Phase.PROGRESS)]
