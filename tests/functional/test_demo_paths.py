"""What `make demo` prints about S3 is where the deployed stack keeps it (tests/s3_layout.py).

The demo's alerting and survey stages show the sample notice and the survey parser's own
messages: every s3:// path and bucket name in them must be a place the stack has.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.demo import Demo, alerting, surveys
from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack
from tests.s3_layout import S3_URI, path_problems

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    with SlackSink() as sink, LocalStack(slack_sink=sink, work_dir=tmp_path) as stack:  # the link is followed over HTTP
        yield Demo(stack, sink, dsn="")  # these stages use no shop database


def test_the_s3_paths_the_demo_prints_follow_the_real_layout(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the demo's alerting and survey stages run
    alerting(demo)
    surveys(demo)
    printed = capsys.readouterr().out
    # THEN they show paths in the survey bucket and the lake, each one a place the stack has
    buckets = {bucket for bucket, _ in S3_URI.findall(printed)}
    assert {"shoplake-dev-surveys-123456789012", "shoplake-dev-lake-123456789012"} <= buckets
    assert path_problems(printed) == []
