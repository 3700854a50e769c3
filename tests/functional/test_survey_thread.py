"""A survey upload is one Slack thread: the parser's notice opens it, each partition's quality result replies in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack import sample_surveys
from local_stack.stack import LocalStack
from shoplake.alerts.model import Alert, Phase, ThreadRef
from shoplake.alerts.sources import read_alerts

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server

PARTITION = "survey_offline_ads year=2026/month=11/day=23"


def _threaded_alerts(stack: LocalStack) -> list[Alert]:
    """What the Slack notifier was given, read as it reads it, in delivery order (the threads it was told)."""
    notifier = stack.router.functions["SlackNotifierFunction"].name
    return [
        alert
        for invocation in stack.router.history
        if invocation.function == notifier
        for alert in read_alerts(invocation.event)
        if alert.thread is not None
    ]


def test_each_upload_thread_gets_its_partition_quality_result(stack: LocalStack, tmp_path: Path) -> None:
    # GIVEN two stores' workbooks for the same day, uploaded one after the other under different names
    bucket = stack.output("SurveyBucketName")
    s3 = stack.client("s3")
    first = sample_surveys.write_survey_workbook(tmp_path / "a.xlsx", rows=40)
    second = sample_surveys.write_survey_workbook(tmp_path / "b.xlsx", rows=20, seed=8, first_id=1001)
    # WHEN each is dropped into the inbox and everything it causes is delivered
    s3.upload_file(str(first), bucket, "inbox/강남점 설문.xlsx")
    stack.deliver_pending()
    s3.upload_file(str(second), bucket, "inbox/홍대점 설문 (2).xlsx")
    stack.deliver_pending()
    # THEN each upload's notice opens its thread, and the check its partition object started replies in it
    first_key = f"survey:s3://{bucket}/inbox/강남점 설문.xlsx"
    second_key = f"survey:s3://{bucket}/inbox/홍대점 설문 (2).xlsx"
    told = [a.thread for a in _threaded_alerts(stack) if a.thread is not None]
    # each upload's thread is named by its file and its upload id (a file uploaded again is a thread of its own)
    uploads = {t.key.rsplit("#", 1)[0]: t.key for t in told}
    assert all(len(key.rsplit("#", 1)[1]) == 20 for key in uploads.values())
    threads = [ThreadRef(t.key.rsplit("#", 1)[0], t.state, t.phase) for t in told]
    assert len({t.key for t in told}) == 2
    # (the day is checked whole each time: the second check answers the second upload, which started it)
    assert sorted(threads, key=repr) == sorted(
        [
            ThreadRef(first_key, "ingested", Phase.OPEN),
            ThreadRef(first_key, f"{PARTITION}: passed", Phase.PROGRESS),
            ThreadRef(second_key, "ingested", Phase.OPEN),
            ThreadRef(second_key, f"{PARTITION}: passed", Phase.PROGRESS),
        ],
        key=repr,
    )
