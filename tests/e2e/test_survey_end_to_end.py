"""Survey ingestion end to end on the local stack: S3 upload → parser → lake → quality job → Slack."""

from __future__ import annotations

import csv
from pathlib import Path

from local_stack.sample_surveys import KOREAN_HEADERS, survey_rows, write_survey_workbook
from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack


def test_an_uploaded_survey_reaches_the_lake_and_its_quality_result_reaches_slack(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    path = write_survey_workbook(tmp_path / "survey.xlsx", rows=30, bad_rows=False)
    stack.client("s3").upload_file(str(path), stack.output("SurveyBucketName"), "inbox/11월 설문.xlsx")
    invocations = stack.deliver_pending()
    assert [i.function for i in invocations if i.error] == []
    assert {i.function for i in invocations} == {
        "shoplake-dev-survey-parser", "shoplake-dev-glue-launcher", "shoplake-dev-slack-notifier",
    }  # fmt: skip
    texts = sorted(m.text.split(" — ")[0] for m in sink.messages)
    assert texts == [
        "[OK] Data quality survey_offline_ads year=2026/month=11/day=23: passed all 12 rules",
        "[OK] Survey ingested: 11월 설문.xlsx (30 rows)",
    ]


def test_a_quality_rule_failing_on_the_new_partition_reaches_slack(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN a file whose rows are each valid, but two respondents share an id (IsUnique fails)
    rows = survey_rows(4)
    for number, row in enumerate(rows):
        row[0] = f"DUP-{max(number, 1)}"  # DUP-1 twice; no id shared with other files of that day
    path = tmp_path / "dupes.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([KOREAN_HEADERS, *rows])
    stack.client("s3").upload_file(str(path), stack.output("SurveyBucketName"), "inbox/dupes.csv")
    stack.deliver_pending()
    (quality,) = [m for m in sink.messages if "Data quality" in m.text]
    assert quality.text.startswith(
        "[Warning] Data quality survey_offline_ads year=2026/month=11/day=23: failed 1 of 12 rules"
    )
