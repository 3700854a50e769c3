"""A blank template generated from each form file is read back as that form, and filled in is ingested whole."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from shoplake.surveys.forms import Column, Form, all_forms
from shoplake.surveys.survey_file import read_survey
from shoplake.surveys.template import GUIDE_ROW, HEADER_ROW, INSTRUCTIONS_SHEET, find_form, korean_header, main

BUDGET = 256 * 1024 * 1024
FORMS = all_forms()


def _value(column: Column, row: int) -> object:
    """What a person types into a cell of `column`: a pick from the drop-down, a date, a number, text."""
    if column.allowed:
        return column.allowed[row % len(column.allowed)]
    return {
        "timestamp": datetime(2026, 11, 20, 9, row % 60),
        "date": date(2026, 11, row % 28 + 1),
        "integer": int(column.minimum or 0) + row % 2,
        "number": float(column.minimum or 0) + 0.5,
        "boolean": True,
    }.get(column.type, "KR" if column.pattern else f"answer {row}")


def _template(form: Form, tmp_path: Path) -> Path:
    out = tmp_path / f"{form.key}.xlsx"
    assert main([form.key, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.key)
def test_a_blank_template_is_read_as_its_form_with_the_instructions_sheet_skipped(form: Form, tmp_path: Path) -> None:
    # GIVEN the blank template generated from the form file
    path = _template(form, tmp_path)
    # WHEN the survey reader reads it
    parsed = read_survey(path, path.name, f"inbox/{path.name}", FORMS, BUDGET)
    # THEN it is that form, on the response sheet, with every column found, no rows, and the instructions skipped
    assert parsed.layout.form.key == form.key
    assert parsed.layout.header_row == HEADER_ROW
    assert [c.name for _, c, _ in parsed.layout.columns] == [c.name for c in form.columns]
    assert (parsed.rows, parsed.problems) == (0, [])
    assert [s.name for s in parsed.skipped] == [INSTRUCTIONS_SHEET]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.key)
def test_a_template_filled_in_as_a_person_would_is_ingested_with_no_rejects(form: Form, tmp_path: Path) -> None:
    # GIVEN the template, filled in with openpyxl: drop-down picks, dates, numbers and text in the data rows
    path = _template(form, tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    for row in range(5):
        for index, column in enumerate(form.columns, start=1):
            sheet.cell(HEADER_ROW + 1 + row, index, _value(column, row))
    book.save(path)
    # WHEN it is read
    parsed = read_survey(path, path.name, f"inbox/{path.name}", FORMS, BUDGET)
    # THEN every row is ingested, none rejected
    assert parsed.problems == []
    assert parsed.rows == 5
    table = pq.read_table(__import__("io").BytesIO(next(iter(parsed.partitions.values()))))
    assert table.column(form.columns[0].name).to_pylist()[0] == _value(form.columns[0], 0)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.key)
def test_the_template_headers_drop_downs_and_formats_come_from_the_form(form: Form, tmp_path: Path) -> None:
    # GIVEN the template generated from the form file
    sheet = openpyxl.load_workbook(_template(form, tmp_path)).worksheets[0]
    # THEN the sheet is the one the form declares, the headers are the form's Korean aliases,
    assert sheet.title == (form.sheet or "Responses")
    headers = [c.value for c in sheet[HEADER_ROW]]
    assert headers == [korean_header(c) for c in form.columns]
    assert all(h in c.aliases or h == c.name for h, c in zip(headers, form.columns, strict=True))
    # the English guide row above them is no header (the reader passes it over),
    assert form.match_header([c.value for c in sheet[GUIDE_ROW]]) == {}
    # each drop-down lists exactly the column's allowed values,
    lists = {
        str(v.sqref).split(":")[0]: v.formula1.strip('"').split(",") for v in sheet.data_validations.dataValidation
    }
    choices = {i: c for i, c in enumerate(form.columns, start=1) if c.allowed and c.type == "string"}
    assert lists == {
        f"{openpyxl.utils.get_column_letter(i)}{HEADER_ROW + 1}": list(c.allowed) for i, c in choices.items()
    }
    # and date columns are formatted as dates
    for index, column in enumerate(form.columns, start=1):
        if column.type in ("timestamp", "date"):
            assert sheet.cell(HEADER_ROW + 1, index).is_date


def test_a_form_is_named_by_its_name_or_its_key() -> None:
    form = FORMS[0]
    assert find_form(form.form) == find_form(form.key) == form
    with pytest.raises(KeyError):
        find_form("no_such_form")
