"""The local stack routes S3 notifications and schedules as the template declares them."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_plus

import pytest

from local_stack.stack import LocalStack
from local_stack.template import ROOT

# The tests here start moto's server on loopback (not in make unit).
pytestmark = pytest.mark.server

FIXTURE = ROOT / "tests" / "fixtures" / "routing" / "template.yaml"


@pytest.fixture
def stack(tmp_path) -> Iterator[LocalStack]:
    with LocalStack(template_path=FIXTURE, work_dir=tmp_path) as running:
        yield running


def test_upload_under_the_prefix_invokes_the_function_with_an_s3_event(stack: LocalStack) -> None:
    # GIVEN the bucket the template declares
    s3 = stack.client("s3")
    # WHEN a file is uploaded under the filtered prefix, and another outside it
    s3.put_object(Bucket="routing-dev-inbox", Key="inbox/2026-11 설문 결과.xlsx", Body=b"x")
    s3.put_object(Bucket="routing-dev-inbox", Key="elsewhere/ignored.csv", Body=b"x")
    (invocation,) = stack.deliver_pending()
    # THEN only the first reaches the function, as S3 would send it: the key form-encoded, "/" kept
    record = invocation.result["event"]["Records"][0]
    assert record["eventSource"] == "aws:s3"
    assert record["s3"]["bucket"]["name"] == "routing-dev-inbox"
    key = record["s3"]["object"]["key"]
    assert key.startswith("inbox/2026-11+")
    assert unquote_plus(key) == "inbox/2026-11 설문 결과.xlsx"
    assert invocation.result["greeting"] == "hello-dev"


def test_schedule_fires_a_scheduler_event(stack: LocalStack) -> None:
    invocation = stack.router.fire_schedule("Nightly")
    event = invocation.result["event"]
    assert event["source"] == "aws.scheduler"
    assert event["detail-type"] == "Scheduled Event"
    assert invocation.result["function"] == "RecorderFunction"
