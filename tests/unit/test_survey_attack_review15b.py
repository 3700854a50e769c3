"""Attack review 15b of the marked-up copy and its link: each test is a fault found, failing until fixed.

Workbooks start as `sample_surveys.write_survey_workbook` writes them (title row, header on row 3, three
bad cells: J7, F9, B12); where openpyxl cannot write the shape under test (a formula with the value Excel
stored, a `<dimension>` as streaming writers state it) the sheet's XML is edited (ECMA-376 Part 1, 18.3.1).
"""

from __future__ import annotations

import csv
import io
import re
import time
import tracemalloc
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.datetime import to_excel

from local_stack.sample_surveys import KOREAN_HEADERS, survey_rows, write_survey_workbook
from local_stack.template import load_template
from shoplake import lake_layout
from shoplake.surveys import links
from shoplake.surveys.forms import all_forms
from shoplake.surveys.markup import MarkedCopy, marked_copy
from shoplake.surveys.survey_file import Parsed, read_survey
from tests.conftest import function_app, lambda_context, our_event

PLENTY = 1 << 30
ANSWERS = "응답"
# write_survey_workbook's parts: sheet1 is the notes sheet 안내, sheet2 the answers, sheet3 one added after.
ANSWERS_PART = "xl/worksheets/sheet2.xml"
SECRET = "s" * 64


def _read(path: Path, budget: int = PLENTY) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", all_forms(), budget)


def _copy(path: Path, parsed: Parsed, budget: int = PLENTY, **kwargs: Any) -> MarkedCopy:
    made = marked_copy(
        path, path.name, parsed.layout.sheet, parsed.layout.header_row, parsed.problems,
        emptied=True, memory_budget_bytes=budget, **kwargs,
    )  # fmt: skip
    assert made is not None
    return made


def _edit_part(path: Path, part: str, edit: Any) -> None:
    """Rewrite one part of the workbook at `path` with `edit(xml text) -> xml text`."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, edit(data.decode()).encode() if info.filename == part else data)
    path.write_bytes(out.getvalue())


def _with_formulas(path: Path) -> object:
    """Row 7 (rejected for J7) gets two formulas with the values Excel stored: B7 `=B6` (the time above,
    as staff fill a column down) and K7 `=3+4`. Returns B6's value, the time the parser reads for B7."""
    book = openpyxl.load_workbook(path)
    answers = book[ANSWERS]
    above = answers["B6"].value
    answers["B7"], answers["K7"] = "=B6", "=3+4"
    book.save(path)
    stored = {"B6": str(to_excel(above)), "3+4": "7"}  # openpyxl writes `<v />`: Excel's stored value goes in

    def cache(xml: str) -> str:
        for formula, value in stored.items():
            xml = xml.replace(f"<f>{formula}</f><v />", f"<f>{formula}</f><v>{value}</v>")
        return xml

    _edit_part(path, ANSWERS_PART, cache)
    return above


def _fix_j7_and_read_again(body: bytes, tmp_path: Path) -> Parsed:
    book = openpyxl.load_workbook(io.BytesIO(body))
    book[ANSWERS]["J7"] = 5
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    return _read(fixed)


# ---------------------------------------------------------------- formulas in the rows kept


def test_a_formula_in_a_rejected_row_keeps_its_value_in_a_row_by_row_copy(tmp_path: Path) -> None:
    # GIVEN row 7, rejected for J7 only, whose B7 and K7 are formulas the parser read by their stored values
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    _with_formulas(path)
    parsed = _read(path)
    assert {p.row for p in parsed.problems} == {7, 9, 12}
    # WHEN the copy is made row by row and the uploader fixes J7 and uploads it again
    again = _fix_j7_and_read_again(_copy(path, parsed, budget=0).body, tmp_path)
    # THEN row 7 is taken: B7 and K7 hold what the parser read the first time, not '=B6' and '=3+4' as text
    assert [(p.column, p.value) for p in again.problems if p.row == 7] == []


def test_a_rejected_row_keeps_a_value_its_formula_took_from_an_emptied_row(tmp_path: Path) -> None:
    # GIVEN row 7, rejected for J7 only, whose time B7 is `=B6`, and row 6 ingested
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    above = _with_formulas(path)
    parsed = _read(path)
    # WHEN the copy is made whole, the ingested rows emptied
    made = _copy(path, parsed)
    assert made.whole
    answers = openpyxl.load_workbook(io.BytesIO(made.body))[ANSWERS]
    # THEN B7 still yields the time the parser read: as a value, or as a formula whose input is still there
    # (observed: `=B6` over an emptied B6, which Excel recalculates to 0, 1900-01-00)
    assert answers["B7"].value == above or (answers["B7"].value == "=B6" and answers["B6"].value == above)


# ---------------------------------------------------------------- merged cells, control characters


def test_a_merged_cell_over_an_ingested_row_and_a_rejected_row_can_be_fixed_and_uploaded(tmp_path: Path) -> None:
    # GIVEN two respondents' time shown once, B5:B6 merged: row 5 is ingested, row 6 rejected (B6 reads empty)
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40, bad_rows=False)
    book = openpyxl.load_workbook(path)
    book[ANSWERS]["B6"] = None
    book[ANSWERS].merge_cells("B5:B6")
    book.save(path)
    parsed = _read(path)
    assert [(p.row, p.column) for p in parsed.problems] == [(6, "B")]
    # WHEN the uploader types a time into the red cell of the copy, as Excel shows it, and uploads it again
    copy = openpyxl.load_workbook(io.BytesIO(_copy(path, parsed).body))
    answers = copy[ANSWERS]
    (red,) = [c for row in answers.iter_rows(min_row=4) for c in row if c.comment is not None]
    answers[red.coordinate] = "2026-11-23 09:30"
    fixed = tmp_path / "fixed.xlsx"
    copy.save(fixed)
    again = _read(fixed)
    # THEN exactly row 6 is taken (observed: the mark is on B5, so the time goes to an emptied row 5,
    # which comes back rejected for every other column, and row 6 is rejected again)
    assert (again.rows, again.problems) == (1, [])


def test_a_control_character_in_a_kept_cell_does_not_cost_the_whole_copy(tmp_path: Path) -> None:
    # GIVEN a CSV, accepted, whose rejected row 5 has a comment with a vertical tab (FileMaker's line break)
    rows = survey_rows(20)
    rows[3][9] = "6"  # row 5: satisfaction above 5
    rows[3][11] = "첫 줄\x0b둘째 줄"
    path = tmp_path / "s.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(KOREAN_HEADERS)
        writer.writerows([f"{v:%Y-%m-%d %H:%M}" if hasattr(v, "strftime") else v for v in row] for row in rows)
    parsed = _read(path)
    assert [(p.row, p.column) for p in parsed.problems] == [(5, "J")]
    # WHEN its copy is made
    # THEN there is one, row 5's comment kept readable (observed: IllegalCharacterError, so no copy at all)
    made = _copy(path, parsed)
    comment = openpyxl.load_workbook(io.BytesIO(made.body))["answers"]["L5"].value
    assert comment.startswith("첫 줄") and comment.endswith("둘째 줄")


# ---------------------------------------------------------------- memory and time


def _with_side_sheet_declared_a1(path: Path, rows: int) -> None:
    """A third sheet of `rows` × 20 numbers whose `<dimension>` says A1, as streaming writers state it."""
    book = openpyxl.load_workbook(path)
    side = book.create_sheet("raw")
    for i in range(rows):
        side.append([i * 20 + j for j in range(20)])
    book.save(path)
    _edit_part(
        path,
        "xl/worksheets/sheet3.xml",
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1"', xml, count=1),
    )


def test_a_side_sheet_whose_dimension_says_a1_is_not_loaded_whole_past_the_memory_budget(tmp_path: Path) -> None:
    # GIVEN an accepted workbook whose answers fit a 2 MiB budget, beside a 40,000-cell sheet declared as A1
    budget = 2 << 20
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=40)
    _with_side_sheet_declared_a1(path, rows=2000)
    parsed = _read(path, budget)
    _copy(path, parsed, budget=0)  # what the copy imports, imported before measuring
    # WHEN the copy is made with that budget
    tracemalloc.start()
    try:
        _copy(path, parsed, budget=budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # THEN it holds no more than the budget (observed: about 8 times it, the whole workbook loaded; in
    # Lambda, after the Parquet is written, the function then runs out of memory on every attempt)
    assert peak <= budget


def test_a_copy_made_whole_is_given_up_once_its_deadline_has_passed(tmp_path: Path) -> None:
    # GIVEN a workbook that fits the memory budget, and a deadline already passed (the parser used the time)
    path = write_survey_workbook(tmp_path / "s.xlsx", rows=2000)
    parsed = _read(path)
    # WHEN its copy is asked for
    started = time.monotonic()
    made = marked_copy(
        path, path.name, ANSWERS, 3, parsed.problems,
        emptied=True, memory_budget_bytes=PLENTY, deadline=started - 1,
    )  # fmt: skip
    # THEN it is given up, as the row-by-row copy is (observed: the whole workbook is loaded and saved, the
    # time it takes unchecked: past the deadline the function times out with the Parquet written)
    assert made is None


# ---------------------------------------------------------------- the download function


def _download_app(monkeypatch: pytest.MonkeyPatch, region: str = "ap-northeast-2") -> ModuleType:
    monkeypatch.setenv("SURVEY_BUCKET", "shoplake-dev-surveys-123456789012")
    monkeypatch.setenv("LINK_SECRET_ARN", "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:link")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_REGION", region)
    module = function_app("survey_download")
    monkeypatch.setattr(module.parameters, "get_secret", lambda *args, **kwargs: SECRET)
    return module


def test_a_copy_no_longer_kept_is_answered_410_by_the_deployed_role(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the download function and a good link to a copy that is gone. HeadObject would answer 403 for a
    # missing key without s3:ListBucket (Amazon S3 API Reference, HeadObject), hiding "gone" among denials,
    # so it asks by listing the key itself, which its role may do under marked/ only
    app = _download_app(monkeypatch)
    asked: list[dict[str, object]] = []

    def list_objects_v2(**kwargs: object) -> dict[str, object]:
        asked.append(kwargs)
        return {"KeyCount": 0}

    monkeypatch.setattr(app, "s3", SimpleNamespace(list_objects_v2=list_objects_v2))
    url = links.link_for("https://x.lambda-url.ap-northeast-2.on.aws/", SECRET, "marked/설문.0123.xlsx", "설문.xlsx")
    event = our_event("survey_download/link_opened.json")
    event["queryStringParameters"] = {"copy": url.split("copy=", 1)[1]}
    # WHEN the link is opened
    # THEN the documented 410 "no longer kept" (it was: the ClientError escaped, a 500 from Lambda)
    assert app.lambda_handler(event, lambda_context("shoplake-dev-survey-download", memory_mb=128))["statusCode"] == 410
    assert asked == [{"Bucket": "shoplake-dev-surveys-123456789012", "Prefix": "marked/설문.0123.xlsx", "MaxKeys": 1}]
    # AND the role may list nothing but marked/
    statements = [
        statement
        for policy in load_template()["Resources"]["SurveyDownloadFunction"]["Properties"]["Policies"]
        for statement in policy.get("Statement", [])
    ]
    (listing,) = [st for st in statements if st["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "marked/*"}}


def test_the_redirect_is_signed_with_sigv4_in_every_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the download function deployed in us-east-1 (the copies are SSE-KMS with LakeKey, template.yaml)
    app = _download_app(monkeypatch, region="us-east-1")
    # WHEN it presigns the redirect
    url = app.presign("marked/설문.0123.xlsx", links.content_disposition("설문.xlsx"), links.CONTENT_TYPES[".xlsx"])
    # THEN the URL is SigV4: S3 refuses any other signature for an SSE-KMS object (it was SigV2, AWSAccessKeyId=)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url


def test_a_dot_folder_in_an_uploaded_name_survives_in_every_filed_key() -> None:
    # GIVEN an inbox key with `.` and `..` folders (S3 keeps them; a browser resolves them away in a link)
    key = "inbox/../2026/./설문.xlsx"
    # THEN neither the filed copy nor the marked-up copy has a folder a browser would resolve
    for filed in (
        lake_layout.moved_key(key, lake_layout.SURVEY_PROCESSED, "0123456789abcdef0123"),
        lake_layout.marked_key(key, "0123456789abcdef0123", ".xlsx"),
    ):
        assert not {".", ".."} & set(filed.split("/")), filed
