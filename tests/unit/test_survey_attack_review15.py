"""Attack review 15 of survey ingestion: each test is a fault found, failing until the lead fixes it.

Workbooks are written as raw SpreadsheetML parts (ECMA-376 Part 1; `tests/spreadsheetml.py`) where openpyxl
cannot write the shape under test: a damaged part, a `<dimension>` as streaming writers state it, a built-in CJK
date format.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from local_stack.sample_surveys import KOREAN_HEADERS
from shoplake import lake_layout
from shoplake.alerts.slack_blocks import render
from shoplake.alerts.sources.notice import from_sns
from shoplake.s3_notifications import ObjectCreated
from shoplake.surveys.datetime_text import parse_datetime_text
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import IngestConfig, Outcome, ingest
from shoplake.surveys.report import notice_for
from shoplake.surveys.survey_file import Parsed, read_survey
from tests.spreadsheetml import data_row, truncate_sheet, workbook

pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style:UserWarning")
FORMS = all_forms()
PLENTY = 1 << 30


def _read(path: Path, budget: int = PLENTY) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", FORMS, budget)


def _column(parsed: Parsed, name: str) -> list[object]:
    tables = [pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values()]
    return pa.concat_tables(tables).column(name).to_pylist()


# ---------------------------------------------------------------- 1. a damaged workbook crashes the parser


def _drop_workbook_rels(parts: dict[str, bytes]) -> None:
    del parts["xl/_rels/workbook.xml.rels"]


def _shared_string_past_the_table(parts: dict[str, bytes]) -> None:
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        '<c r="A1" t="s"><v>0</v>', '<c r="A1" t="s"><v>999</v>', 1
    ).encode()


def _not_a_number(parts: dict[str, bytes]) -> None:
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace('<c r="J3"><v>3</v>', '<c r="J3"><v>NaN</v>', 1).encode()


def _boolean_spelled_out(parts: dict[str, bytes]) -> None:
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace('<c r="J3"><v>3</v>', '<c r="J3" t="b"><v>TRUE</v>', 1).encode()


_DAMAGES = [
    ("truncated-sheet-xml", truncate_sheet),
    ("no-workbook-rels", _drop_workbook_rels),
    ("shared-string-past-table", _shared_string_past_the_table),
    ("nan-number", _not_a_number),  # either reader reads it, and the row is rejected
    ("boolean-TRUE", _boolean_spelled_out),
]


@pytest.mark.parametrize(
    ("damage", "budget"),
    [
        pytest.param(damage, budget, id=f"{name}-{reader}")
        for name, damage in _DAMAGES
        for reader, budget in (("calamine", PLENTY), ("streaming", 0))
    ],
)
@mock_aws
def test_a_damaged_workbook_is_quarantined_or_its_row_rejected_never_a_crash(
    tmp_path: Path, damage: Callable[[dict[str, bytes]], None], budget: int
) -> None:
    # GIVEN a damaged workbook in a versioned inbox (a part cut short, a part missing, a cell no reader reads)
    body = workbook(tmp_path / "damaged.xlsx", [data_row(n) for n in range(1, 6)], damage=damage).read_bytes()
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("surveys", "lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="surveys", VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket="surveys", Key="inbox/damaged.xlsx", Body=body)
    upload = ObjectCreated("surveys", "inbox/damaged.xlsx", put["VersionId"], len(body), put["ETag"].strip('"'), "01")
    config = IngestConfig(lake_bucket="lake", forms=FORMS, max_upload_bytes=2**20, memory_budget_bytes=budget)
    told: list[Outcome] = []
    # WHEN it is ingested, with either reader
    outcome = ingest(s3, upload, config, told.append)
    # THEN the parser answers (no exception for Lambda to retry three times), and the uploader is told at once
    assert told == [outcome]
    assert outcome.status in ("quarantined", "ingested")


# ---------------------------------------------------------------- 2. the memory budget trusts <dimension>


def test_a_sheet_whose_dimension_says_a1_is_not_held_whole_past_the_memory_budget(tmp_path: Path) -> None:
    # GIVEN 2,000 answers in a sheet whose <dimension> says "A1", as streaming writers write it (dhatim
    # fastexcel hard-codes it; excelize's StreamWriter, R openxlsx and OpenXLSX leave it so)
    path = workbook(tmp_path / "streamed.xlsx", [data_row(n) for n in range(1, 2001)], dimension="A1")
    # WHEN it is read with a memory budget for 1,000 cells (the sheet holds 24,012)
    parsed = _read(path, budget=1_000 * 160)
    # THEN every row is read, by the reader that does not hold the sheet
    assert parsed.rows == 2000
    assert parsed.reader == "openpyxl-streaming"


# ---------------------------------------------------------------- 3. CJK built-in date formats split the readers


def test_a_korean_built_in_date_format_reads_the_same_with_either_reader(tmp_path: Path) -> None:
    # GIVEN a comment typed as "2026년 11월 20일" in Korean Excel: a date under the built-in Korean format 31
    comment = '<c r="{ref}" s="2"><v>46346</v></c>'
    path = workbook(tmp_path / "korean-date.xlsx", [data_row(1, comment_cell=comment), data_row(2)])
    # WHEN it is read with room for the fast reader, and with none
    fast, streamed = _read(path), _read(path, budget=0)
    # THEN the lake gets the same comment whichever reader the file's size chose
    assert (fast.reader, streamed.reader) == ("calamine", "openpyxl-streaming")
    assert _column(fast, "comment") == _column(streamed, "comment")


# ---------------------------------------------------------------- 4. a line break in a name reaches Slack raw


def test_a_file_name_with_a_line_break_reaches_slack_on_one_line_everywhere() -> None:
    # GIVEN a file named with a line break (an S3 key may hold one), ingested
    key = "inbox/a\n[Critical] all surveys lost.xlsx"
    outcome = Outcome(
        status="ingested",
        source=f"s3://surveys/{key}",
        file_name=key.rsplit("/", 1)[-1],
        upload_id="0123456789abcdef0123",
        form="offline_ads.v1",
        rows_ingested=3,
        outputs=["s3://lake/surveys/survey_offline_ads/year=2026/month=11/day=20/part-0123456789abcdef0123.parquet"],
        original_now=f"s3://surveys/{lake_layout.moved_key(key, 'processed/', '0123456789abcdef0123')}",
    )
    # WHEN the notifier renders its notice for Slack
    notice = notice_for(outcome)
    message = render(from_sns(json.loads(notice.to_message()), "arn:aws:sns:ap-northeast-2:123456789012:alerts"))
    # THEN the notification line is one line, and no field shows the name over two lines
    assert "\n" not in message.text
    texts = [field["text"] for block in message.blocks for field in block.get("fields", [])]
    assert not [text for text in texts if "\n[Critical]" in text]


# ---------------------------------------------------------------- 5. a long name cannot be filed


def test_every_upload_s3_accepts_can_be_filed_under_a_key_s3_accepts() -> None:
    # GIVEN the longest key S3 takes in the inbox (1,024 bytes of UTF-8: a long Korean name)
    key = "inbox/" + "설" * 334 + ".xlsx"
    assert len(key.encode()) <= 1024
    # WHEN it is filed away, and quarantined with its report beside it
    processed = lake_layout.moved_key(key, lake_layout.SURVEY_PROCESSED, "0123456789abcdef0123")
    report = lake_layout.moved_key(key, lake_layout.SURVEY_QUARANTINE, "0123456789abcdef0123")
    report += lake_layout.QUARANTINE_REPORT_SUFFIX
    # THEN every key written is one S3 accepts (S3 refuses keys over 1,024 bytes: KeyTooLongError), so the
    # parser never writes the Parquet, tells the uploader, and then fails to file the original on every attempt
    assert len(processed.encode()) <= 1024
    assert len(report.encode()) <= 1024


# ---------------------------------------------------------------- 6. documented date shapes refused


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        # JavaScript's Date.toString in a Korean-locale browser; docs/surveys.md: `… GMT+0900 (…)`
        ("Fri Nov 20 2026 09:05:41 GMT+0900 (한국 표준시)", "2026-11-20T09:05:41+09:00"),
        # Korean Excel's long date (Windows ko-KR: yyyy년 M월 d일 dddd), with a time
        ("2026년 11월 20일 금요일 오후 3:05:00", "2026-11-20T15:05:00"),
    ],
)
def test_documented_date_shapes_in_korean_are_read(text: str, iso: str) -> None:
    assert parse_datetime_text(text).isoformat() == iso


def test_the_review_workbook_builder_makes_a_clean_workbook(tmp_path: Path) -> None:
    # The builder itself: an undamaged workbook reads whole with both readers (so the failures above are the fault's)
    path = workbook(tmp_path / "clean.xlsx", [data_row(n) for n in range(1, 4)])
    fast, streamed = _read(path), _read(path, budget=0)
    assert (fast.rows, streamed.rows, fast.problems, streamed.problems) == (3, 3, [], [])


# ---------------------------------------------------------------- 7. a folder made in the inbox is quarantined


def _versioned_inbox() -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("surveys", "lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="surveys", VersioningConfiguration={"Status": "Enabled"})
    return s3


@mock_aws
def test_a_folder_made_in_the_inbox_is_left_alone_and_nobody_is_warned() -> None:
    # GIVEN staff make a folder for the month in the inbox (S3 console "Create folder": an empty key ending "/",
    # which sends an ObjectCreated event under the inbox/ prefix the parser listens to)
    s3 = _versioned_inbox()
    put = s3.put_object(Bucket="surveys", Key="inbox/2026-11/", Body=b"")
    upload = ObjectCreated("surveys", "inbox/2026-11/", put["VersionId"], 0, put["ETag"].strip('"'), "01")
    told: list[Outcome] = []
    config = IngestConfig(lake_bucket="lake", forms=FORMS, max_upload_bytes=2**20, memory_budget_bytes=PLENTY)
    # WHEN its event is handled
    ingest(s3, upload, config, told.append)
    # THEN no "Survey file quarantined: " (with no name) reaches Slack, and the folder stays where it was made
    assert told == []
    assert s3.head_object(Bucket="surveys", Key="inbox/2026-11/")["ContentLength"] == 0


# ---------------------------------------------------------------- 8. a closed multi-line comment refuses the CSV


def test_a_well_quoted_multi_line_comment_listing_things_does_not_refuse_the_csv(tmp_path: Path) -> None:
    # GIVEN a CSV whose last answer is a comment over two lines, quoted and closed as Excel writes it, whose
    # second line lists twelve things with commas (as many commas as a row has)
    row = "R{},2026-11-20 09:05,지하철,2026-11,20대,여성,KR,서울,상의,3,7,"
    comment = '"좋았던 점:\n색상, 사이즈, 소재, 가격, 배송, 포장, 응대, 교환, 환불, 적립금, 쿠폰, 이벤트 모두 만족"'
    lines = [",".join(KOREAN_HEADERS), *(row.format(n) + "좋아요" for n in range(1, 5)), row.format(5) + comment]
    path = tmp_path / "comments.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # WHEN it is read
    parsed = _read(path)
    # THEN all five answers are ingested, the comment whole
    assert parsed.rows == 5
    assert str(_column(parsed, "comment")[-1]).endswith("이벤트 모두 만족")
