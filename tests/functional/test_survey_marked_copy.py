"""The uploader's file back, each rejected cell marked, through the 7-day link in their Slack message."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from local_stack import sample_surveys
from local_stack.function_urls import open_url
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from shoplake.surveys.layout import MARKUP_SHEET
from shoplake.surveys.markup import BAD_FILL

# moto runs as a server here: the link's redirect is followed over HTTP, as a browser follows it to S3.
pytestmark = pytest.mark.server

LINK = re.compile(r"<(https://[^|>]+)\|Download your file with each problem marked \(link valid until ([^)]+) UTC\)>")


@pytest.fixture
def stack(sink: SlackSink, tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(slack_sink=sink, work_dir=tmp_path) as running:
        yield running


def _drop(stack: LocalStack, path: Path, name: str) -> None:
    stack.client("s3").upload_file(str(path), stack.output("SurveyBucketName"), f"inbox/{name}")
    stack.deliver_pending()


def _link(sink: SlackSink, title: str) -> str:
    (message,) = [m for m in sink.messages if title in m.text]
    links = [LINK.search(b["text"]["text"]) for b in message.blocks if b["type"] == "section" and "text" in b]
    (found,) = [m for m in links if m]
    return found.group(1).replace("&amp;", "&")


def _lake_rows(stack: LocalStack) -> int:
    lake = stack.output("LakeBucketName")
    s3 = stack.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=lake).get("Contents", []) if o["Key"].endswith(".parquet")]
    return sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=lake, Key=k)["Body"].read())).num_rows for k in keys)


def test_a_partly_rejected_file_comes_back_marked_and_its_fixed_copy_adds_only_the_fixed_rows(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN a workbook with three bad cells, ingested with those three rows rejected
    path = sample_surveys.write_survey_workbook(tmp_path / "survey.xlsx", rows=40)
    _drop(stack, path, "11월 설문.xlsx")
    assert _lake_rows(stack) == 37
    # WHEN the uploader follows the link in the Slack message
    opened = open_url(stack, _link(sink, "Survey ingested: 11월 설문.xlsx"))
    # THEN they download their own workbook, named for their file, each bad cell marked with the rule
    assert opened.status == 303
    assert (
        "filename*=UTF-8''11%EC%9B%94%20%EC%84%A4%EB%AC%B8%20%28marked%29.xlsx" in opened.headers["Content-Disposition"]
    )
    book = openpyxl.load_workbook(io.BytesIO(opened.body))
    assert book.sheetnames == [MARKUP_SHEET, "안내", "응답"]
    answers = book["응답"]
    for ref, rule in (("J7", "6 is above the maximum 5"), ("F9", "'몰라요' is not one of"), ("B12", "is not a date")):
        assert answers[ref].fill.fgColor.rgb == BAD_FILL.fgColor.rgb
        assert rule in answers[ref].comment.text
    # AND the rows already in the lake are emptied, the title and header kept
    assert answers["A4"].value is None
    assert answers["A3"].value == "응답자 ID"
    # WHEN they fix the three cells and upload the copy again
    answers["J7"], answers["F9"], answers["B12"] = 5, "여성", "2026-11-23 10:00"
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    _drop(stack, fixed, "11월 설문 (marked).xlsx")
    # THEN exactly the three fixed rows are added, and the listing sheet is named as shoplake's own
    assert _lake_rows(stack) == 40
    (again,) = [m for m in sink.messages if "Survey ingested: 11월 설문 (marked).xlsx" in m.text]
    assert again.text.startswith("[OK] Survey ingested: 11월 설문 (marked).xlsx (3 rows)")


def test_a_quarantined_csv_comes_back_as_a_workbook_with_every_row_and_the_bad_cells_marked(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN a CSV in which most answers break a rule, so the file is quarantined
    rows = [sample_surveys.KOREAN_HEADERS] + [
        [
            f"R{n}",
            "2026-11-23 09:00",
            "지하철",
            "2026-10",
            "20대",
            "여성",
            "KR",
            "서울",
            "상의",
            "9",
            "5",
            "=cmd|' /C calc'!A0",
        ]
        for n in range(4)
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    _drop(stack, path, "bad.csv")
    assert _lake_rows(stack) == 0
    opened = open_url(stack, _link(sink, "Survey file quarantined: bad.csv"))
    book = openpyxl.load_workbook(io.BytesIO(opened.body))
    answers = book["answers"]
    # THEN every row is there (nothing was ingested), the bad cells marked
    assert [answers.cell(r, 1).value for r in range(1, 6)] == ["응답자 ID", "R0", "R1", "R2", "R3"]
    assert all(answers.cell(r, 10).fill.fgColor.rgb == BAD_FILL.fgColor.rgb for r in range(2, 6))
    # AND text that would run as a formula stays text
    assert answers.cell(2, 12).data_type == "s"
    assert answers.cell(2, 12).value.startswith("=cmd")


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        (lambda url: url[:-3], 403),  # cut short
        (lambda url: url.replace("copy=", "copy=x"), 403),  # another token
        (lambda url: url.split("?")[0], 400),  # no token at all
        (lambda url: url + "&copy=second", 403),  # two tokens, joined as Lambda joins them
    ],
)
def test_a_damaged_link_is_refused_with_a_plain_answer(
    stack: LocalStack, sink: SlackSink, tmp_path: Path, tamper, status
) -> None:
    path = sample_surveys.write_survey_workbook(tmp_path / "survey.xlsx", rows=40)
    _drop(stack, path, "s.xlsx")
    opened = open_url(stack, tamper(_link(sink, "Survey ingested: s.xlsx")))
    assert opened.status == status
    assert "Slack" in opened.body.decode()


def test_a_file_without_problems_gets_no_link(stack: LocalStack, sink: SlackSink, tmp_path: Path) -> None:
    path = sample_surveys.write_survey_workbook(tmp_path / "survey.xlsx", rows=20, bad_rows=False)
    _drop(stack, path, "clean.xlsx")
    (message,) = [m for m in sink.messages if "Survey ingested: clean.xlsx" in m.text]
    assert "Download your file" not in as_text(message)
