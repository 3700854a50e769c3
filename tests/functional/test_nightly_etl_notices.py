"""What the nightly ETL's Slack notices say happens next (review of issue 17), through moto's Step Functions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from local_stack import glue_jobs
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from shoplake import lake_layout
from shoplake_etl.catalog import left_behind_notice
from shoplake_etl.publication import MAY_BE_PUBLISHED, PUBLISHED_BUT
from tests.functional.test_nightly_etl_state_machine import (  # noqa: F401 - the fixtures
    GlueRuns,
    _etl_notices,
    _run,
    glue,
    stack,
)

pytestmark = pytest.mark.server


def _publish_fails_with(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    def job(runner: Any, run_id: str, arguments: dict[str, str]) -> list[Any]:
        if arguments["--step"] == "publish":
            raise RuntimeError(message)
        return []

    monkeypatch.setitem(glue_jobs.LOCAL_JOBS, "glue/nightly_etl_job.py", job)


@pytest.mark.parametrize("payload", [{"run_date": "2026-11-24"}, {"scheduled_time": "2026-11-24T17:00:00Z"}])
def test_a_publish_that_fails_after_its_manifest_says_the_day_is_published(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    payload: dict[str, str],
) -> None:
    # GIVEN the publish job fails after writing the day's manifest (publication.CleanupFailed)
    local, sink = stack
    _publish_fails_with(monkeypatch, f"2026-11-24: {PUBLISHED_BUT} its older versions were not removed (AccessDenied)")
    # WHEN the night runs
    assert _run(local, payload)["status"] == "FAILED"
    # THEN Slack says the day is published and what is left, never that nothing is, nor to re-run it
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "older versions were not removed" in text
    assert "The day IS published whole" in text
    assert "Nothing of that day is published" not in text
    assert "start-execution" not in text


@pytest.mark.parametrize("payload", [{"run_date": "2026-11-24"}, {"scheduled_time": "2026-11-24T17:00:00Z"}])
def test_a_publish_that_fails_before_its_manifest_says_the_previous_version_stands(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    payload: dict[str, str],
) -> None:
    # GIVEN the publish of a day published before fails before its manifest (publication.DayNotPublished)
    local, sink = stack
    reason = "2026-11-24: the day is not published, version 20261124T170000000000Z stands: ThrottlingException"
    _publish_fails_with(monkeypatch, reason)
    # WHEN the run (a re-run, or the night itself run again) fails
    assert _run(local, payload)["status"] == "FAILED"
    # THEN Slack says the previous publication stands, this run's changes are not published, and how to re-run
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "version 20261124T170000000000Z stands" in text
    assert "The day as published before this run stands whole and is still read" in text
    assert "the changes this run read for the day are not published" in text
    assert "re-run it with aws stepfunctions start-execution" in text
    assert '--input "{\\"run_date\\":\\"2026-11-24\\"}"' in text, text
    assert "Nothing of that day is published" not in text and "next scheduled night catches up" not in text


def test_a_publish_that_fails_before_the_first_manifest_of_a_day_says_nothing_of_it_is_published(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the first publish of a day fails before its manifest: publication.DayNotPublished, nothing stands
    local, sink = stack
    _publish_fails_with(monkeypatch, "2026-11-24: the day is not published, nothing of it is published: Throttling")
    # WHEN the back-fill fails
    assert _run(local, {"run_date": "2026-11-24"})["status"] == "FAILED"
    # THEN Slack says so, with the re-run's command, as for any failure of a day asked for by date
    text = as_text(_etl_notices(local, sink)[0])
    assert "Nothing of that day is published and no night will catch it up: re-run it with" in text
    assert "stands whole" not in text


@pytest.mark.parametrize("payload", [{"run_date": "2026-11-24"}, {"scheduled_time": "2026-11-24T17:00:00Z"}])
def test_a_publish_whose_manifest_write_cannot_be_confirmed_says_the_day_may_be_published(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    payload: dict[str, str],
) -> None:
    # GIVEN the publish job fails with publication.PublishOutcomeUnknown
    local, sink = stack
    reason = (
        f"2026-11-24: {MAY_BE_PUBLISHED}: the manifest write raised (TimeoutError) and reading it back failed "
        "(TimeoutError); the catalog is left on version V1, so if the manifest landed, version V1 stands; if not, "
        "version V0 stands and the next publish points the catalog back to it"
    )
    _publish_fails_with(monkeypatch, reason)
    # WHEN the night runs
    assert _run(local, payload)["status"] == "FAILED"
    # THEN Slack says it is not known, never that nothing of the day is published, nor that it is
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "Whether the day's manifest was written is not known" in text
    assert "Nothing of that day is published" not in text
    assert "The day IS published whole (its manifest is written)" not in text


def test_a_nights_summary_names_the_days_its_extract_left_behind(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
) -> None:
    # GIVEN the extract's note that the 10th is beyond the night's catch-up (its jobs do nothing here)
    local, sink = stack
    arn = local.stack.ref("NightlyEtlStateMachine")
    note = left_behind_notice([date(2026, 11, 10)], arn)
    bucket = local.stack.ref("LakeBucket")
    local.client("s3").put_object(Bucket=bucket, Key=lake_layout.left_behind_key(date(2026, 11, 24)), Body=note)
    # WHEN the night succeeds
    assert _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"})["status"] == "SUCCEEDED"
    # THEN its summary names the day and the command that back-fills it; the extracts were told the ARN
    (message,) = _etl_notices(local, sink)
    assert "No night will catch up 2026-11-10" in as_text(message)
    assert f"--state-machine-arn {arn} --input" in as_text(message)
    assert {a["--state_machine_arn"] for a in glue.arguments if "--table" in a} == {arn}


def test_a_nights_summary_without_a_note_says_nothing_of_days_left_behind(
    stack: tuple[LocalStack, SlackSink],  # noqa: F811
    glue: GlueRuns,  # noqa: F811
) -> None:
    local, sink = stack
    assert _run(local, {"scheduled_time": "2026-11-24T17:00:00Z"})["status"] == "SUCCEEDED"
    (message,) = _etl_notices(local, sink)
    assert "published." in as_text(message)
    assert "No night will catch up" not in as_text(message)
    assert "left behind" not in as_text(message)  # S3's NoSuchKey is no note, not a note that could not be read
