"""The survey parser on resources built from template.yaml: files in, Parquet or quarantine out, people told."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from local_stack import sample_surveys
from local_stack.invoke import upload_named_version
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from tests.cases import case
from tests.conftest import our_event

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server

SURVEY_NAME = "2026-11 지하철 광고 설문.xlsx"


@pytest.fixture
def stack(sink: SlackSink, tmp_path: Path) -> Iterator[LocalStack]:
    # A 1 MB upload limit, so that the over-size refusal needs no large file.
    with LocalStack(
        slack_sink=sink, server=False, work_dir=tmp_path, parameters={"SurveyMaxUploadMegabytes": "1"}
    ) as running:
        yield running


def _drop(stack: LocalStack, path: Path, name: str) -> str:
    """Staff upload a file; S3 notifies the parser; everything that follows is delivered."""
    bucket = stack.output("SurveyBucketName")
    stack.client("s3").upload_file(str(path), bucket, f"inbox/{name}")
    stack.deliver_pending()
    return bucket


def _keys(stack: LocalStack, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in stack.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def _filed(keys: list[str], folder: str, name: str) -> str:
    """The one key under `folder` that is `name` with an upload id (20 hex digits) before its suffix."""
    stem, suffix = name.rsplit(".", 1)
    (key,) = [k for k in keys if re.fullmatch(rf"{folder}{re.escape(stem)}\.[0-9a-f]{{20}}\.{suffix}", k)]
    return key


def _body(stack: LocalStack, bucket: str, key: str) -> bytes:
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_survey_becomes_parquet_and_the_uploader_is_told(stack: LocalStack, sink: SlackSink, tmp_path: Path) -> None:
    # GIVEN a realistic workbook with three bad rows
    path = sample_surveys.write_survey_workbook(tmp_path / "survey.xlsx", rows=40)
    # WHEN staff drop it into the inbox
    bucket = _drop(stack, path, SURVEY_NAME)
    # THEN the good rows are typed Parquet in the lake, in their day's partition
    lake = stack.output("LakeBucketName")
    data_keys = [k for k in _keys(stack, lake) if k.endswith(".parquet")]
    assert len(data_keys) == 1
    assert data_keys[0].startswith("surveys/survey_offline_ads/year=2026/month=11/day=23/part-")
    table = pq.read_table(io.BytesIO(_body(stack, lake, data_keys[0])))
    assert table.num_rows == 37
    assert table.schema.field("submitted_at").type.tz == "UTC"
    assert set(table.column("source_file").to_pylist()) == {f"inbox/{SURVEY_NAME}"}
    # AND the bad rows are in the rejects file, each with its row, column and reason
    (rejects_key,) = [k for k in _keys(stack, lake) if k.startswith("survey_rejects/")]
    rejects = json.loads(_body(stack, lake, rejects_key))
    assert [(p["row"], p["column"], p["header"]) for p in rejects["problems"]] == [
        (7, "J", "만족도"), (9, "F", "성별"), (12, "B", "응답 일시"),
    ]  # fmt: skip
    # AND the original is kept under processed/, named for this upload
    (marked, kept) = _keys(stack, bucket)
    assert marked == _filed([marked], "marked/", SURVEY_NAME)  # the uploader's copy, its bad cells marked
    assert kept == _filed([kept], "processed/", SURVEY_NAME)
    assert _body(stack, bucket, kept) == path.read_bytes()
    # AND Slack has one summary naming the counts and the first problems, and the quality result
    summaries = [m for m in sink.messages if "Survey ingested" in m.text]
    assert len(summaries) == 1
    text = as_text(summaries[0])
    assert "37 rows, 3 rejected" in text
    assert "row 7, J (만족도): 6 is above the maximum 5" in text
    assert any(
        "Data quality survey_offline_ads year=2026/month=11/day=23: passed all 12 rules" in m.text
        for m in sink.messages
    )


def test_a_hidden_stale_sheet_is_not_ingested_and_the_uploader_is_told(stack: LocalStack, sink: SlackSink) -> None:
    # GIVEN a workbook whose first sheet is a hidden, stale copy of the form (tests/cases)
    # WHEN staff drop it into the inbox
    _drop(stack, case("surveys/survey_hidden_stale_sheet_first.xlsx"), "응답.xlsx")
    # THEN the visible sheet's 6 answers are in the lake, in 2026, and nothing of the hidden sheet's 2025
    lake = stack.output("LakeBucketName")
    data_keys = [k for k in _keys(stack, lake) if k.endswith(".parquet")]
    assert data_keys and all("/year=2026/" in k for k in data_keys)
    assert sum(pq.read_table(io.BytesIO(_body(stack, lake, k))).num_rows for k in data_keys) == 6
    # AND Slack warns that answers were left in the hidden sheet, naming it
    (summary,) = [m for m in sink.messages if "Survey ingested" in m.text]
    assert summary.text.startswith("[Warning] Survey ingested: 응답.xlsx (6 rows)")
    assert "template_old: hidden; it holds answers to offline_ads.v1, not ingested" in as_text(summary)


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("survey_iso_date_cells_t_d_with_z_suffix.xlsx", 6),
        ("survey_strict_open_xml.xlsx", 6),
        ("survey_google_forms_ko_csv_download_timestamp.csv", 6),
        ("survey_cp949_korean_after_64k_ascii.csv", 854),
        ("survey_excel_unicode_text_utf16le_tab.csv", 6),
        ("survey_excel_de_semicolon_sep_line.csv", 6),
        ("survey_excel_for_mac_csv_mac_roman.csv", 6),
        ("survey_excel_windows_1252_csv.csv", 6),
    ],
)
def test_files_from_every_tool_staff_use_are_ingested_whole(
    stack: LocalStack, sink: SlackSink, name: str, rows: int
) -> None:
    _drop(stack, case(f"surveys/{name}"), name)
    (summary,) = [m for m in sink.messages if "Survey ingested" in m.text]
    assert summary.text.startswith(f"[OK] Survey ingested: {name} ({rows} rows)")


def test_the_same_event_delivered_twice_yields_one_output_and_one_message(
    stack: LocalStack, sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN the sample S3 event for a survey with a URL-encoded Korean key, and that file in the inbox
    event = our_event("survey_parser/s3_put_korean_key.json")
    upload_named_version(stack, event, Path("events/survey_parser/sample_survey.xlsx"))
    parser = stack.functions["SurveyParserFunction"]
    # WHEN the event is delivered twice
    first = parser.invoke(event)
    second = parser.invoke(event)
    stack.deliver_pending()
    # THEN one output, one message, and the second answer is the first
    assert first == second
    assert first["files"][0]["status"] == "ingested"
    assert first["files"][0]["file_name"] == SURVEY_NAME
    assert len([k for k in _keys(stack, stack.output("LakeBucketName")) if k.endswith(".parquet")]) == 1
    assert len([m for m in sink.messages if "Survey ingested" in m.text]) == 1


def test_a_late_redelivery_after_the_file_moved_changes_nothing(stack: LocalStack, sink: SlackSink) -> None:
    event = our_event("survey_parser/s3_put_korean_key.json")
    event["Records"][0]["s3"]["object"]["sequencer"] = "00FFFFFFFFFFFFFFFF"  # past the idempotency record
    result = stack.functions["SurveyParserFunction"].invoke(event)
    stack.deliver_pending()
    assert result["files"][0]["status"] == "already_handled"
    assert sink.messages == []


HOSTILE: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # name -> (how to make it, its upload name, the reason the report must give)
    "zip bomb": (sample_surveys.write_zip_bomb, "bomb.xlsx", "zip bomb refused: xl/worksheets/padding.xml inflates"),
    "XML entity attack": (
        sample_surveys.write_entity_attack, "laughs.xlsx", "XML entity attack refused: xl/sharedStrings.xml declares",
    ),
    "oversized cell": (
        sample_surveys.write_oversized_cell, "big-cell.xlsx",
        "a cell holds 20,000 characters (limit 10,000) (sheet '응답', row 4, column L)",
    ),
    "sheet too wide": (
        sample_surveys.write_too_wide, "wide.xlsx",
        "the sheet has more than 200 columns (sheet '응답', row 3, column GS)",
    ),
    "matches no form": (sample_surveys.write_unmatched, "명단.xlsx", "no survey form matches this file"),
    "not a workbook": (
        lambda p: (p.write_text("hello", encoding="utf-8"), p)[1], "renamed.xlsx", "the file is not a ZIP archive",
    ),
    "unsupported type": (lambda p: (p.write_bytes(b"\xd0\xcf\x11\xe0"), p)[1], "old.xls", "unsupported file type .xls"),
    "over the size limit": (
        lambda p: sample_surveys.write_survey_csv(p, rows=12_000, encoding="utf-8"), "huge.csv",
        "over the 1,048,576-byte limit",
    ),
    "too many bad rows": (
        lambda p: (p.write_text("응답자 ID,응답 일시,처음 알게 된 경로,연령대,성별,국가,만족도,추천 의향\n"
                                + "R1,never,TV,20대,여성,KR,5,9\n" * 3, encoding="utf-8"), p)[1],
        "bad.csv", "3 of 3 rows failed validation, more than the form's 20% limit; nothing was ingested",
    ),
    "an unclosed quote": (
        lambda p: (p.write_bytes(case("surveys/survey_csv_unclosed_quote_in_comment.csv").read_bytes()), p)[1],
        "survey.csv", "the quoted cell opened on line 6 runs to line 7, where a quote closes it and text follows",
    ),
    "Japanese Shift_JIS": (
        lambda p: (p.write_bytes(case("surveys/survey_excel_ja_shift_jis_csv.csv").read_bytes()), p)[1],
        "ja.csv", "no other encoding reads it as plausible text",
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_file_is_quarantined_with_its_reason_and_kept(
    stack: LocalStack, sink: SlackSink, tmp_path: Path, kind: str
) -> None:
    # GIVEN a file the parser must refuse
    make, name, reason = HOSTILE[kind]
    path = make(tmp_path / name)
    # WHEN it is dropped into the inbox
    bucket = _drop(stack, path, name)
    # THEN the original is kept, byte for byte, in quarantine, with a report beside it naming the reason
    kept = _filed(_keys(stack, bucket), "quarantine/", name)
    filed = [k for k in _keys(stack, bucket) if not k.startswith("marked/")]  # a copy with bad cells marked
    assert filed == [kept, f"{kept}.report.json"]
    assert _body(stack, bucket, kept) == path.read_bytes()
    report: dict[str, Any] = json.loads(_body(stack, bucket, f"{kept}.report.json"))
    assert reason in report["reason"]
    assert report["file"] == f"s3://{bucket}/inbox/{name}"
    # AND nothing reached the lake
    assert [k for k in _keys(stack, stack.output("LakeBucketName")) if k.endswith(".parquet")] == []
    # AND the uploader is told why, in Slack
    (message,) = sink.messages
    assert message.text.startswith(f"[Warning] Survey file quarantined: {name}")
    assert reason.split(" (")[0] in as_text(message)


ANSWER = "ZEBRA-4417 매장 직원이 친절해요"  # one row's answer, distinctive in any log


def _write_csv_quoting_an_answer(path: Path) -> Path:
    """A CSV whose comment opens a quote closed two rows on: the refusal quotes the row swallowed between."""
    lines = [",".join(sample_surveys.KOREAN_HEADERS)]
    for n, values in enumerate(sample_surveys.survey_rows(3)):
        cells = ["" if v is None else str(v).replace(",", " ") for v in values]
        if n == 0:
            cells[-1] = f'"opened {cells[-1]}'
        if n == 1:
            cells[2] = ANSWER  # early in the line, where the refusal's quote of it reaches
        if n == 2:  # the third row closes the quote
            cells[-1] = f'{cells[-1]} closed"'
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_parsers_log_holds_no_survey_answer(stack: LocalStack, sink: SlackSink, tmp_path: Path) -> None:
    # GIVEN a workbook whose rejected cells hold answers ("몰라요", "어제 저녁") beside good rows' comments,
    # and a CSV refused with a reason that quotes a row's answers
    workbook = sample_surveys.write_survey_workbook(tmp_path / "survey.xlsx", rows=40)
    refused = _write_csv_quoting_an_answer(tmp_path / "refused.csv")
    # WHEN staff drop both into the inbox
    _drop(stack, workbook, SURVEY_NAME)
    _drop(stack, refused, "refused.csv")
    # THEN the uploader is told the answers (in Slack and the reports, which they are for)
    told = "\n".join(as_text(m) for m in sink.messages)
    assert "몰라요" in told and "ZEBRA-4417" in told
    # AND the parser's log names each file, its counts and where each problem is
    log = stack.functions["SurveyParserFunction"].log_path.read_text(encoding="utf-8")
    handled = [json.loads(line) for line in log.splitlines() if '"Survey file handled"' in line]
    assert [(h["outcome"]["file_name"], h["outcome"]["status"]) for h in handled] == [
        (SURVEY_NAME, "ingested"), ("refused.csv", "quarantined"),
    ]  # fmt: skip
    assert handled[0]["outcome"]["rows_ingested"] == 37
    assert [p["row"] for p in handled[0]["outcome"]["problems"]] == [7, 9, 12]
    # AND no answer: not a rejected cell's, not a comment, not the one the refusal quotes
    for answer in ("몰라요", "어제 저녁", *sample_surveys.COMMENTS[:3], ANSWER, "ZEBRA"):
        assert answer not in log, answer


def test_formulas_are_never_evaluated_and_formula_text_is_neutralised(stack: LocalStack, tmp_path: Path) -> None:
    path = sample_surveys.write_formula_workbook(tmp_path / "formulas.xlsx")
    _drop(stack, path, "formulas.xlsx")
    lake = stack.output("LakeBucketName")
    (key,) = [k for k in _keys(stack, lake) if k.endswith(".parquet")]
    table = pq.read_table(io.BytesIO(_body(stack, lake, key)))
    assert table.column("region").to_pylist()[2] == "'@SUM(1+1)"
    # the formula cells had no stored value: they are empty, not the formula's text or its result
    assert table.column("comment").to_pylist()[:2] == [None, None]


def test_the_launcher_starts_a_template_job_by_name_for_a_rerun(stack: LocalStack) -> None:
    launcher = stack.functions["GlueLauncherFunction"]
    run = launcher.invoke({"job": "survey-quality", "arguments": {"input_path": "s3://lake/x/", "table": "t"}})
    assert run["job_name"] == "shoplake-dev-survey-quality"
    with pytest.raises(ValueError, match="not one of shoplake's Glue jobs"):
        launcher.invoke({"job": "someone-elses-job"})
    # the nightly ETL's jobs run only in its state machine, under the day lock: never started from here
    for job in ("etl-publish", "shoplake-dev-etl-publish", "etl-extract"):
        with pytest.raises(ValueError, match="not one of shoplake's Glue jobs: survey-quality"):
            launcher.invoke({"job": job, "arguments": {"run_date": "2026-11-24", "run_id": "x"}})
