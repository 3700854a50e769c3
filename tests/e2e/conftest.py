"""One local stack per test module: moto's server, the template's resources, the Slack sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack


@pytest.fixture(scope="module")
def sink() -> Iterator[SlackSink]:
    with SlackSink() as running:
        yield running


@pytest.fixture(scope="module")
def stack(sink: SlackSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(slack_sink=sink, work_dir=tmp_path_factory.mktemp("local")) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_sink(sink: SlackSink) -> None:
    sink.messages.clear()
