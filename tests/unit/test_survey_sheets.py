"""Which sheet is ingested: the first visible one with a form's header; every other one reported with its reason."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from local_stack.sample_surveys import KOREAN_HEADERS, survey_rows
from shoplake.alerts.model import Severity
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import Outcome
from shoplake.surveys.layout import SkippedSheet, find_layout
from shoplake.surveys.report import notice_for
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.workbook import Refused, Row, SheetRows
from tests.cases import case

FORMS = all_forms()
PLENTY = 1 << 30
READERS = pytest.mark.parametrize("budget", [PLENTY, 0], ids=["calamine", "openpyxl-streaming"])


def _read(path: Path, budget: int) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", FORMS, budget)


def _workbook(path: Path, sheets: list[tuple[str, str, int]]) -> Path:
    """Sheets as (name, state, answers): `answers` rows under the header, or 0 for a list without a header."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, state, answers in sheets:
        sheet = workbook.create_sheet(name)
        sheet.sheet_state = state
        if answers:
            sheet.append(KOREAN_HEADERS)
            for values in survey_rows(answers, seed=len(name)):
                sheet.append(values)
        else:
            for choice in ("지하철", "TV", "지인"):
                sheet.append([choice])  # the list behind a drop-down
    workbook.save(path)
    return path


@READERS
def test_a_hidden_stale_sheet_before_the_answers_is_skipped_and_said_so(budget: int) -> None:
    # GIVEN a workbook whose first sheet is a hidden, stale copy of the form (3 rows of 2025) (tests/cases)
    parsed = _read(case("surveys/survey_hidden_stale_sheet_first.xlsx"), budget)
    # THEN the visible response sheet is read, and only it
    assert (parsed.layout.sheet, parsed.rows, parsed.problems) == ("설문지 응답 시트1", 6, [])
    assert {day.year for day in parsed.partitions} == {2026}
    ids = pq.read_table(io.BytesIO(next(iter(parsed.partitions.values())))).column("respondent_id").to_pylist()
    assert all(i.startswith("R") for i in ids)
    # AND the hidden sheet is reported, with what it holds
    assert parsed.skipped == (
        SkippedSheet("template_old", "hidden; it holds answers to offline_ads.v1, not ingested", "offline_ads.v1"),
    )


def _outcome(parsed: Parsed) -> Outcome:
    return Outcome(
        status="ingested",
        source="s3://inbox/x.xlsx",
        file_name="x.xlsx",
        form=parsed.layout.form.key,
        sheet=parsed.layout.sheet,
        rows_ingested=parsed.rows,
        skipped_sheets=[s.as_dict() for s in parsed.skipped],
    )


def test_the_uploader_is_warned_of_answers_left_in_a_skipped_sheet() -> None:
    notice = notice_for(_outcome(_read(case("surveys/survey_hidden_stale_sheet_first.xlsx"), PLENTY)))
    assert notice.severity == Severity.WARNING
    assert notice.fields["Skipped sheets"] == "template_old: hidden; it holds answers to offline_ads.v1, not ingested"


@READERS
def test_a_hidden_list_behind_a_drop_down_is_reported_without_alarm(tmp_path: Path, budget: int) -> None:
    path = _workbook(tmp_path / "lists.xlsx", [("목록", "hidden", 0), ("응답", "visible", 5)])
    parsed = _read(path, budget)
    assert parsed.rows == 5
    assert parsed.skipped == (SkippedSheet("목록", "hidden"),)
    notice = notice_for(_outcome(parsed))
    assert notice.severity == Severity.SUCCESS
    assert notice.fields["Skipped sheets"] == "목록: hidden"


@READERS
def test_sheets_after_the_answers_are_looked_at_and_reported(tmp_path: Path, budget: int) -> None:
    # GIVEN answers in two visible sheets, an instructions sheet, and a very hidden copy, the declared sheet first
    sheets = [("안내", "visible", 0), ("Sheet2", "visible", 4), ("응답", "visible", 6), ("old", "veryHidden", 2)]
    parsed = _read(_workbook(tmp_path / "many.xlsx", sheets), budget)
    # THEN the declared sheet is ingested, and every other sheet is reported with its reason
    assert (parsed.layout.sheet, parsed.rows) == ("응답", 6)
    assert [(s.name, s.reason) for s in parsed.skipped] == [
        ("안내", "no form's header in its first 20 rows"),
        ("Sheet2", "it holds answers to offline_ads.v1 too, not ingested: one sheet per file, and '응답' came first"),
        ("old", "very hidden (only a macro can show it); it holds answers to offline_ads.v1, not ingested"),
    ]


@READERS
def test_answers_only_in_a_hidden_sheet_are_refused_naming_it(tmp_path: Path, budget: int) -> None:
    path = _workbook(tmp_path / "hidden.xlsx", [("안내", "visible", 0), ("응답", "hidden", 3)])
    with pytest.raises(Refused, match=r"the answers are only in hidden sheet\(s\) '응답'") as refused:
        _read(path, budget)
    assert refused.value.sheet == "응답"
    # AND the refusal lists every sheet looked at, for the quarantine report's skipped_sheets
    assert [(s["sheet"], s["answers"]) for s in refused.value.skipped] == [("응답", "offline_ads.v1"), ("안내", None)]


def test_a_sheet_passed_over_is_let_go_of_before_the_next_is_read() -> None:
    # GIVEN two sheets whose readers say when they are let go of (calamine holds a whole sheet)
    released: list[str] = []

    def rows(name: str, content: list[Row]) -> Iterator[tuple[int, Row]]:
        try:
            yield from enumerate(content, start=1)
        finally:
            released.append(name)

    header, answers = tuple(KOREAN_HEADERS), [tuple(r) for r in survey_rows(40)]
    stale = SheetRows("stale", rows("stale", [header, *answers]), state="hidden")
    current = SheetRows("current", rows("current", [header, *answers]))
    # WHEN the layout is found
    layout, sheet, _ = find_layout([stale, current], FORMS)
    # THEN the hidden sheet was let go of, and the chosen one is still being read
    assert (layout.sheet, released) == ("current", ["stale"])
    assert sheet is current


def _renamed(path: Path, names: dict[str, str]) -> Path:
    """The workbook at `path` with sheets renamed in xl/workbook.xml only, as a crafted or repaired file may be."""
    renamed = path.with_name(f"renamed-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(renamed, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/workbook.xml":
                for old, new in names.items():
                    data = data.replace(f'name="{old}"'.encode(), f'name="{new}"'.encode())
            target.writestr(entry, data)
    return renamed


@READERS
def test_a_hidden_sheet_named_like_the_visible_one_is_never_read_in_its_place(tmp_path: Path, budget: int) -> None:
    # GIVEN a hidden stale copy (3 rows) and the visible answers (6 rows), both named 응답
    path = _workbook(tmp_path / "twins.xlsx", [("응답", "hidden", 3), ("응답X", "visible", 6)])
    twins = _renamed(path, {"응답X": "응답"})
    # WHEN it is read by either reader
    parsed = _read(twins, budget)
    # THEN the visible sheet's 6 rows are read, not the hidden sheet's 3, and the hidden one is reported
    assert (parsed.layout.sheet, parsed.rows) == ("응답", 6)
    assert [(s.name, s.answers) for s in parsed.skipped] == [("응답", "offline_ads.v1")]
    assert parsed.reader == "openpyxl-streaming"  # calamine opens sheets by name, even by position


@READERS
def test_a_hidden_sheet_after_the_answers_with_the_same_name_is_still_reported(tmp_path: Path, budget: int) -> None:
    path = _workbook(tmp_path / "twins.xlsx", [("응답", "visible", 6), ("응답X", "hidden", 3)])
    parsed = _read(_renamed(path, {"응답X": "응답"}), budget)
    assert parsed.rows == 6
    assert parsed.skipped == (
        SkippedSheet("응답", "hidden; it holds answers to offline_ads.v1, not ingested", "offline_ads.v1"),
    )


@READERS
def test_the_declared_sheet_is_found_whatever_its_case_and_spacing(tmp_path: Path, budget: int) -> None:
    # GIVEN answers in a first sheet, and the form's declared sheet (응답) written "응답 " after it
    path = _workbook(tmp_path / "declared.xlsx", [("Sheet1", "visible", 4), ("응답X", "visible", 6)])
    parsed = _read(_renamed(path, {"응답X": "응답 "}), budget)
    # THEN the declared sheet is read, and the first one reported as holding answers too
    assert (parsed.layout.sheet, parsed.rows) == ("응답 ", 6)
    assert [s.name for s in parsed.skipped] == ["Sheet1"]
