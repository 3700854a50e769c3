"""The marked-up copy (shoplake.surveys.markup) and its link (shoplake.surveys.links), without S3."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import boto3
import openpyxl
import pytest
from moto import mock_aws
from openpyxl.comments import Comment

from local_stack.sample_surveys import write_survey_workbook
from shoplake.s3_notifications import ObjectCreated
from shoplake.surveys import ingest as ingest_module
from shoplake.surveys import links
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import IngestConfig, Outcome, ingest
from shoplake.surveys.layout import MARKUP_SHEET
from shoplake.surveys.markup import BAD_FILL, marked_copy, marks_for
from shoplake.surveys.report import notice_for
from shoplake.surveys.rows import Problem
from shoplake.surveys.survey_file import Parsed, read_survey
from tests.cases import case

PLENTY = 1 << 30
SECRET = "s" * 64
NOW = 1_796_029_541.0


def _read(path: Path) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", all_forms(), PLENTY)


def _copy(
    path: Path, parsed: Parsed, *, budget: int = PLENTY, emptied: bool = False, **kwargs: object
) -> openpyxl.Workbook:
    made = marked_copy(
        path, path.name, parsed.layout.sheet, parsed.layout.header_row, parsed.problems,
        emptied=emptied, memory_budget_bytes=budget, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    assert made is not None
    return openpyxl.load_workbook(io.BytesIO(made.body))


# ---------------------------------------------------------------- the copy


def test_both_ways_of_making_the_copy_mark_the_same_cells_with_the_same_rules(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    parsed = _read(path)
    whole, streamed = _copy(path, parsed), _copy(path, parsed, budget=0)
    for book in (whole, streamed):
        answers = book[parsed.layout.sheet]
        marked = {
            c.coordinate: c.comment.text for row in answers.iter_rows() for c in row if c.fill == BAD_FILL and c.comment
        }
        assert marked == {
            "J7": "shoplake:\n만족도: 6 is above the maximum 5",
            "F9": "shoplake:\n성별: '몰라요' is not one of female, male, other, undisclosed",
            "B12": "shoplake:\n응답 일시: '어제 저녁' is not a date and time in a form read here: write "
            "2026-11-24 10:15 (year first; also read: 2026. 11. 24. 오후 3:05, 2026년 11월 24일 15시 5분, "
            "11/24/2026 3:05 PM, Nov 24, 2026 3:05 PM)",
        }
        assert book.sheetnames[0] == MARKUP_SHEET
    # the whole copy keeps the workbook as it was: its other sheet, its merged title
    assert whole.sheetnames == [MARKUP_SHEET, "안내", "응답"]
    assert [str(r) for r in whole["응답"].merged_cells.ranges] == ["A1:L1"]


def test_two_rules_broken_in_one_cell_are_both_named() -> None:
    problems = [Problem(5, "C", "국가", "ZZ", "not a country"), Problem(5, "C", "국가", "ZZ", "too long")]
    (mark,) = marks_for(problems)
    assert mark.notes == ("국가: not a country", "국가: too long")


def test_a_macro_workbook_keeps_its_macros(tmp_path: Path) -> None:
    source = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    xlsm = tmp_path / "s.xlsm"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(xlsm, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            new.writestr(item, data)
        new.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 a macro project")
    parsed = _read(xlsm)
    made = marked_copy(
        xlsm, "s.xlsm", parsed.layout.sheet, 3, parsed.problems, emptied=False, memory_budget_bytes=PLENTY
    )
    assert made is not None and made.suffix == ".xlsm"
    assert zipfile.ZipFile(io.BytesIO(made.body)).read("xl/vbaProject.bin") == b"\xd0\xcf\x11\xe0 a macro project"


def test_a_cell_inside_a_merged_range_marks_the_range_and_an_earlier_comment_is_kept(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    book = openpyxl.load_workbook(path)
    book["응답"]["J7"].comment = Comment("checked by the store manager", "kim")
    book.save(path)
    problems = [Problem(1, "C", "title", "x", "a rule"), Problem(7, "J", "만족도", "6", "above 5")]
    copy = marked_copy(path, path.name, "응답", 3, problems, emptied=False, memory_budget_bytes=PLENTY)
    assert copy is not None
    answers = openpyxl.load_workbook(io.BytesIO(copy.body))["응답"]
    assert answers["A1"].fill == BAD_FILL and "title: a rule" in answers["A1"].comment.text
    assert answers["J7"].comment.text == "shoplake:\n만족도: above 5\nearlier note: checked by the store manager"


def test_a_marked_copy_marked_again_has_one_list_the_new_one(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    parsed = _read(path)
    first = tmp_path / "first.xlsx"
    _copy(path, parsed).save(first)
    again = _read(first)
    assert next(s.name for s in again.skipped) == MARKUP_SHEET
    book = _copy(first, again)
    assert book.sheetnames.count(MARKUP_SHEET) == 1
    assert book.sheetnames[0] == MARKUP_SHEET


def test_text_from_the_upload_never_becomes_a_formula_in_the_copy(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    parsed = _read(path)
    hostile = [Problem(7, "J", '=HYPERLINK("http://evil")', "=1+1", "@SUM(A1)")]
    for budget in (PLENTY, 0):
        made = marked_copy(
            path, path.name, "응답", 3, [*parsed.problems, *hostile], emptied=False, memory_budget_bytes=budget
        )
        assert made is not None
        sheet_xml = zipfile.ZipFile(io.BytesIO(made.body)).read("xl/worksheets/sheet1.xml")
        assert b"<f>" not in sheet_xml  # the listing sheet holds no formula


def test_the_strict_case_workbook_is_marked(tmp_path: Path) -> None:
    path = case("surveys/survey_strict_open_xml.xlsx")
    parsed = _read(path)
    problems = [Problem(parsed.layout.header_row + 1, "B", "submitted", "x", "a rule")]
    made = marked_copy(
        path,
        path.name,
        parsed.layout.sheet,
        parsed.layout.header_row,
        problems,
        emptied=False,
        memory_budget_bytes=PLENTY,
    )
    assert made is not None
    answers = openpyxl.load_workbook(io.BytesIO(made.body))[parsed.layout.sheet]
    assert answers[f"B{parsed.layout.header_row + 1}"].fill == BAD_FILL


def test_a_row_by_row_copy_past_its_deadline_gives_up(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=1200)
    parsed = _read(path)
    made = marked_copy(path, path.name, "응답", 3, parsed.problems, emptied=False, memory_budget_bytes=0, deadline=0.0)
    assert made is None


# ---------------------------------------------------------------- the link


def _presign(key: str, disposition: str, content_type: str) -> str:
    return f"https://s3.example/{key}?cd={disposition}&ct={content_type}"


def _answer(url: str, *, exists: bool = True, at: float = NOW, secret: str = SECRET) -> links.Answer:
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&")) if "?" in url else {}
    return links.answer(query, secret, lambda key: exists, _presign, clock=lambda: at)


def _link(key: str = "marked/2026/설문.0123.xlsx", name: str = "설문 (marked).xlsx") -> str:
    return links.link_for("https://x.lambda-url.ap-northeast-2.on.aws/", SECRET, key, name, clock=lambda: NOW)


def test_a_good_link_redirects_to_the_copy_under_the_uploaders_name() -> None:
    answer = _answer(_link())
    assert answer.status == 303
    location = answer.headers["Location"]
    assert location.startswith("https://s3.example/marked/2026/설문.0123.xlsx?cd=attachment;")
    assert "filename*=UTF-8''%EC%84%A4%EB%AC%B8%20%28marked%29.xlsx" in location
    assert location.endswith("ct=application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_a_link_lasts_seven_days_and_not_a_second_more() -> None:
    week = links.LINK_LIFETIME.total_seconds()
    assert _answer(_link(), at=NOW + week).status == 303
    late = _answer(_link(), at=NOW + week + 1)
    assert (late.status, "expired" in late.body) == (410, True)


@pytest.mark.parametrize(
    "url",
    [
        _link()[:-2],  # cut short
        _link().replace("copy=", "copy=A"),  # changed
        links.link_for("https://x/", "another secret", "marked/a.1.xlsx", "a.xlsx", clock=lambda: NOW),
        links.link_for("https://x/", SECRET, "processed/a.1.xlsx", "a.xlsx", clock=lambda: NOW),  # not a copy
        "https://x/?copy=%00%ff",
    ],
)
def test_a_link_that_is_not_ours_is_refused(url: str) -> None:
    answer = _answer(url)
    assert answer.status == 403
    assert "Location" not in answer.headers


def test_a_link_without_a_token_or_to_a_copy_no_longer_kept_says_so() -> None:
    assert _answer("https://x/").status == 400
    gone = _answer(_link(), exists=False)
    assert (gone.status, "no longer kept" in gone.body) == (410, True)


def test_a_token_signed_for_something_else_is_refused() -> None:
    # a payload of the right signature but not the link's shape (a list, a number)
    serializer = links._serializer(SECRET, lambda: NOW)
    for payload in (["marked/a.xlsx"], 3, {"key": 3, "name": "a"}):
        assert _answer(f"https://x/?copy={serializer.dumps(payload)}").status == 403


def test_the_download_name_and_its_header_survive_any_file_name() -> None:
    assert links.download_name("설문.csv", "marked/설문.1.xlsx") == "설문 (marked).xlsx"
    assert links.download_name("macro.XLSM", "marked/macro.1.xlsm") == "macro (marked).xlsm"
    header = links.content_disposition('a"b\\c\n설.xlsx')
    assert header.startswith("attachment; filename=\"a_b_c__.xlsx\"; filename*=UTF-8''")
    assert "\n" not in header


# ---------------------------------------------------------------- in ingest, and in the notice


def _ingest_sample(tmp_path: Path) -> Outcome:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("surveys", "lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="surveys", VersioningConfiguration={"Status": "Enabled"})
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    put = s3.put_object(Bucket="surveys", Key="inbox/설문.xlsx", Body=path.read_bytes())
    upload = ObjectCreated("surveys", "inbox/설문.xlsx", put["VersionId"], 0, put["ETag"].strip('"'), "01")
    config = IngestConfig(lake_bucket="lake", forms=all_forms(), max_upload_bytes=2**20, memory_budget_bytes=PLENTY)
    return ingest(s3, upload, config, lambda outcome: None)


@mock_aws
def test_the_copy_is_kept_beside_the_inbox_and_the_notice_links_it(tmp_path: Path) -> None:
    outcome = _ingest_sample(tmp_path)
    assert outcome.status == "ingested"
    assert outcome.marked_copy == f"s3://surveys/marked/설문.{outcome.upload_id}.xlsx"
    link = _link(outcome.marked_copy.split("/", 3)[3])
    notice = notice_for(outcome, link, links.expires_at(lambda: NOW))
    assert (notice.link, notice.link_label) == (
        link,
        "Download your file with each problem marked (link valid until 2026-12-07 09:05 UTC)",
    )
    assert "upload it again to add them" in notice.summary


@mock_aws
def test_a_copy_that_cannot_be_made_never_costs_the_upload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("xl/worksheets/sheet9.xml")

    monkeypatch.setattr(ingest_module, "marked_copy", broken)
    outcome = _ingest_sample(tmp_path)
    assert (outcome.status, outcome.rows_ingested, outcome.marked_copy) == ("ingested", 37, None)
    assert outcome.marked_copy_note == "no marked-up copy could be made (KeyError); the report lists each cell"
    notice = notice_for(outcome)
    assert notice.link is None
    assert notice.fields["Marked-up copy"] == outcome.marked_copy_note
