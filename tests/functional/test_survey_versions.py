"""Every upload is its own version, and the uploader always hears: on resources built from template.yaml.

The survey bucket is versioned as the template declares it; events name the version their upload made.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from local_stack import sample_surveys
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack

pytestmark = pytest.mark.server

NAME = "survey.xlsx"


def _workbook(tmp_path: Path, rows: int, seed: int) -> Path:
    return sample_surveys.write_survey_workbook(tmp_path / f"{seed}.xlsx", rows=rows, bad_rows=False, seed=seed)


def _upload(stack: LocalStack, path: Path, name: str = NAME) -> None:
    stack.client("s3").upload_file(str(path), stack.output("SurveyBucketName"), f"inbox/{name}")


def _keys(stack: LocalStack, bucket: str, prefix: str = "") -> list[str]:
    listing = stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _body(stack: LocalStack, bucket: str, key: str) -> bytes:
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _rows_per_part(stack: LocalStack) -> list[int]:
    lake = stack.output("LakeBucketName")
    parts = [k for k in _keys(stack, lake, "surveys/") if k.endswith(".parquet")]
    return sorted(pq.read_table(io.BytesIO(_body(stack, lake, k))).num_rows for k in parts)


def _summaries(sink: SlackSink) -> list[str]:
    # Each upload's thread parent, without its label: that shows the thread's worst news (its quality check's too).
    return sorted(m.text.split(" — ")[0].split("] ", 1)[-1] for m in sink.messages if "Survey ingested" in m.text)


def _inbox_versions(stack: LocalStack) -> list[dict[str, Any]]:
    listing = stack.client("s3").list_object_versions(Bucket=stack.output("SurveyBucketName"), Prefix="inbox/")
    return list(listing.get("Versions", [])) + list(listing.get("DeleteMarkers", []))


def test_two_files_uploaded_under_one_name_before_either_is_read_are_both_ingested(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN two stores upload different files under the same name, the second before the first is read
    first, second = _workbook(tmp_path, 12, seed=1), _workbook(tmp_path, 20, seed=2)
    _upload(stack, first)
    _upload(stack, second)
    # WHEN both events are delivered
    stack.deliver_pending()
    # THEN each file's own rows are in the lake, in a part of its own
    assert _rows_per_part(stack) == [12, 20]
    # AND each uploader is told about their own file
    assert _summaries(sink) == [f"Survey ingested: {NAME} (12 rows)", f"Survey ingested: {NAME} (20 rows)"]
    # AND both originals are kept, byte for byte, and nothing is left in the inbox to expire
    bucket = stack.output("SurveyBucketName")
    kept = sorted(_body(stack, bucket, k) for k in _keys(stack, bucket, "processed/"))
    assert kept == sorted([first.read_bytes(), second.read_bytes()])
    assert _inbox_versions(stack) == []


def test_a_second_file_under_the_same_name_does_not_overwrite_the_first(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN a file was uploaded and ingested
    _upload(stack, _workbook(tmp_path, 12, seed=1))
    stack.deliver_pending()
    # WHEN another file is uploaded a week later under the same name
    _upload(stack, _workbook(tmp_path, 20, seed=2))
    stack.deliver_pending()
    # THEN both files' rows stay in the lake
    assert _rows_per_part(stack) == [12, 20]
    assert len(_keys(stack, stack.output("SurveyBucketName"), "processed/")) == 2


def test_a_late_redelivery_of_a_handled_upload_is_already_handled_and_silent(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN an upload that was ingested, and its event kept
    _upload(stack, _workbook(tmp_path, 12, seed=1))
    (handled,) = [i for i in stack.deliver_pending() if i.function.endswith("survey-parser")]
    sink.messages.clear()
    # WHEN S3 delivers the same event again, past the idempotency record
    event = handled.event
    event["Records"][0]["s3"]["object"]["sequencer"] = "00FFFFFFFFFFFFFFFF"
    result = stack.functions["SurveyParserFunction"].invoke(event)
    stack.deliver_pending()
    # THEN it is answered as already handled, nothing is written twice and nobody is told twice
    assert result["files"][0]["status"] == "already_handled"
    assert _rows_per_part(stack) == [12]
    assert sink.messages == []


def test_a_file_name_with_a_line_break_is_ingested_and_the_uploader_told(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    _upload(stack, _workbook(tmp_path, 12, seed=1), name="11월\n설문.xlsx")
    invocations = stack.deliver_pending()
    assert [i.error for i in invocations if i.error] == []
    assert _summaries(sink) == ["Survey ingested: 11월\\n설문.xlsx (12 rows)"]


class _FailingPublish:
    """The parser's SNS client, refusing the first `failures` publishes (or all of them)."""

    def __init__(self, real: Any, failures: int | None) -> None:
        self.real, self.failures = real, failures

    def publish(self, **kwargs: Any) -> Any:
        if self.failures is None or self.failures > 0:
            self.failures = None if self.failures is None else self.failures - 1
            raise RuntimeError("InvalidParameter: the publish was refused")
        return self.real.publish(**kwargs)


def _parser_module(stack: LocalStack) -> Any:
    parser = stack.functions["SurveyParserFunction"]
    assert parser.invoke({"Records": []}) == {"files": []}  # loads the module in its environment
    return parser._module


def test_a_crash_before_the_notice_is_retried_and_the_uploader_hears_once(
    stack: LocalStack, sink: SlackSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the first attempt dies when it publishes the notice, after the Parquet is written
    module = _parser_module(stack)
    monkeypatch.setattr(module, "sns", _FailingPublish(module.sns, failures=1))
    path = _workbook(tmp_path, 12, seed=1)
    _upload(stack, path)
    # WHEN Lambda retries
    stack.deliver_pending()
    # THEN the retry finds the file still in the inbox, ingests it once and tells the uploader once
    assert _rows_per_part(stack) == [12]
    assert _summaries(sink) == [f"Survey ingested: {NAME} (12 rows)"]
    bucket = stack.output("SurveyBucketName")
    (kept,) = _keys(stack, bucket, "processed/")
    assert _body(stack, bucket, kept) == path.read_bytes()


@pytest.mark.parametrize("failure", ["a refused publish", "a crash"])
def test_a_file_that_fails_on_every_attempt_reaches_slack_naming_it(
    stack: LocalStack, sink: SlackSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    # GIVEN the parser fails on every attempt
    module = _parser_module(stack)
    if failure == "a refused publish":
        monkeypatch.setattr(module, "sns", _FailingPublish(module.sns, failures=None))
    else:

        def crash(*args: Any, **kwargs: Any) -> None:
            raise MemoryError("the worker ran out of memory")

        monkeypatch.setattr(module, "ingest", crash)
    _upload(stack, _workbook(tmp_path, 12, seed=1), name="3월 설문.xlsx")
    # WHEN Lambda has retried and given up
    invocations = stack.deliver_pending()
    assert [i.attempts for i in invocations if i.error] == [3]
    # THEN Slack has a critical message naming the file, and the file waits in the inbox
    (message,) = [m for m in sink.messages if "could not handle" in m.text]
    assert message.text.startswith("[Critical] shoplake-dev-survey-parser could not handle 3월 설문.xlsx")
    assert "upload it again" in as_text(message)
    assert _keys(stack, stack.output("SurveyBucketName"), "inbox/") == ["inbox/3월 설문.xlsx"]
