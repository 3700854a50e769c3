"""The notifier's sweep of open alert threads, fired by its schedule as EventBridge fires it, as the notifier's role."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack

pytestmark = pytest.mark.server


@pytest.mark.skipif(
    importlib.util.find_spec("shoplake.alerts.thread_engine") is None, reason="the thread engine (issue 19) is not here"
)
def test_the_sweep_schedule_runs_the_notifiers_sweep_and_posts_nothing_when_no_thread_is_open(
    sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN the stack with no thread open
    with LocalStack(slack_sink=sink, server=False, work_dir=tmp_path) as stack:
        # WHEN the ThreadSweep schedule fires (its constant input, {"shoplake": "thread-sweep"})
        invocation = stack.router.fire_schedule("ThreadSweep")
        # THEN the notifier scans the thread table as its role, finds nothing to do, and posts nothing
        assert invocation.error is None
        assert invocation.result == {"swept": []}
        assert sink.messages == []
