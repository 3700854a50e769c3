"""A blank template workbook for a survey form, generated from its form file (the one source of truth).

`python -m shoplake.surveys.template offline_ads [--out PATH]` writes `.local/templates/offline_ads.xlsx`.
The response sheet (named as the form declares, else "Responses") comes first and holds:

- row 1, a guide: each column's English name and whether it is required (`Respondent ID - required`),
  worded so that it matches no header (`Form.match_header` finds nothing in it), so the reader skips it
  as a title row;
- row 2, the header: each column's first Korean alias (else its first alias, else its name), exactly
  as the reader matches it; required headers bold on a yellow fill, each with a comment in both languages;
- rows 3 to `DATA_ROWS + 2`, empty: drop-downs (list validation) for single-choice columns, dates and
  times formatted `yyyy-mm-dd hh:mm`, dates `yyyy-mm-dd`, whole numbers `0`, numbers `0.00`.

An "Instructions" sheet follows: what each column takes, in Korean and English. It holds no form's
header, so the reader reports it as skipped, not refused.

Uses openpyxl, which is not in the Lambda layer's requirements: the ingest function never imports this module.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from shoplake.surveys.forms import Column, Form, all_forms

DATA_ROWS = 1000  # rows below the header given drop-downs and formats
GUIDE_ROW, HEADER_ROW = 1, 2
INSTRUCTIONS_SHEET = "Instructions"
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_FORMATS = {"timestamp": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd", "integer": "0", "number": "0.00"}
_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
_TYPE_TEXT = {
    "string": ("텍스트", "text"),
    "integer": ("정수", "whole number"),
    "number": ("숫자", "number"),
    "timestamp": ("날짜와 시각", "date and time"),
    "date": ("날짜", "date"),
    "string_list": ("여러 값 (쉼표로 구분)", "several values, separated by commas"),
    "boolean": ("예/아니오", "yes/no"),
}
_DATE_FORMATS = (
    "날짜: 셀 서식이 날짜인 값, 또는 2026-11-30, 2026. 11. 30., 2026/11/30, 2026-11-30 오후 3:05:00 "
    "(Dates: a date-formatted cell, or 2026-11-30, 2026. 11. 30., 11/30/2026 3:05 PM, 2026-11-30T15:05+09:00). "
    "일/월 순서가 모호한 날짜는 거부됩니다 (a day/month order that is ambiguous is refused)."
)


def korean_header(column: Column) -> str:
    """The header the template writes: the first alias with Hangul in it, else the first alias, else the name."""
    korean = [a for a in column.aliases if _HANGUL.search(a)]
    return korean[0] if korean else (column.aliases[0] if column.aliases else column.name)


def english_label(column: Column) -> str:
    """The column's English label: its first alias without Hangul, else its name."""
    english = [a for a in column.aliases if not _HANGUL.search(a)]
    return english[0] if english else column.name


def _guide(column: Column) -> str:
    return f"{english_label(column)} - {'required' if column.required else 'optional'}"


def _takes(column: Column) -> tuple[str, str]:
    korean, english = _TYPE_TEXT[column.type]
    if column.minimum is not None or column.maximum is not None:
        low, high = ("" if b is None else f"{b:g}" for b in (column.minimum, column.maximum))
        bounds = f"{low}-{high}"
        korean, english = f"{korean} {bounds}", f"{english} {bounds}"
    if column.max_length:
        korean, english = f"{korean}, 최대 {column.max_length}자", f"{english}, at most {column.max_length} characters"
    return korean, english


def build_template(form: Form) -> Workbook:
    """The blank template for `form`: its response sheet first, then the instructions sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = form.sheet or "Responses"
    last = DATA_ROWS + HEADER_ROW
    for index, column in enumerate(form.columns, start=1):
        letter = get_column_letter(index)
        guide = sheet.cell(GUIDE_ROW, index, _guide(column))
        guide.font = Font(italic=True, color="666666")
        header = sheet.cell(HEADER_ROW, index, korean_header(column))
        header.font = Font(bold=True)
        if column.required:
            header.fill = _REQUIRED_FILL
        korean, english = _takes(column)
        need = "필수 / required" if column.required else "선택 / optional"
        note = f"{need}\n{korean}\n{english}"
        if column.allowed:
            note += "\n" + ", ".join(column.allowed)
        header.comment = Comment(note, "shoplake")
        sheet.column_dimensions[letter].width = max(14, len(_guide(column)) + 2)
        cells = f"{letter}{HEADER_ROW + 1}:{letter}{last}"
        if column.allowed and column.type == "string":
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(column.allowed) + '"',
                allow_blank=not column.required,
                showErrorMessage=True,
                errorTitle="허용되지 않는 값 / Not allowed",
                error="목록에서 고르세요 / Pick a value from the list: " + ", ".join(column.allowed),
            )
            validation.add(cells)
            sheet.add_data_validation(validation)
        if column.type in _FORMATS:
            for row in range(HEADER_ROW + 1, last + 1):
                sheet.cell(row, index).number_format = _FORMATS[column.type]
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    _instructions(book, form)
    return book


def _instructions(book: Workbook, form: Form) -> None:
    sheet = book.create_sheet(INSTRUCTIONS_SHEET)
    sheet.append([f"{form.title} ({form.key})"])
    sheet.append(
        [
            f"'{book.worksheets[0].title}' 시트의 {HEADER_ROW}행 아래에 한 응답씩 입력하세요. 머리글은 바꾸지 마세요. "
            f"(Enter one response per row below row {HEADER_ROW} of sheet '{book.worksheets[0].title}'; "
            "keep the headers as they are.)"
        ]
    )
    sheet.append([_DATE_FORMATS])
    sheet.append([])
    sheet.append(["열 (Column)", "English", "필수 (Required)", "값 (Takes)", "Takes", "허용 값 (Allowed values)"])
    for column in form.columns:
        korean, english = _takes(column)
        sheet.append(
            [
                korean_header(column),
                english_label(column),
                "필수 (required)" if column.required else "선택 (optional)",
                korean,
                english,
                ", ".join(column.allowed),
            ]
        )
    for letter, width in zip("ABCDEF", (22, 24, 16, 28, 36, 50), strict=True):
        sheet.column_dimensions[letter].width = width
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=6):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def find_form(key: str) -> Form:
    """The form `key` names: `<form>` (its newest version) or `<form>.v<version>`; KeyError if none."""
    for form in all_forms():  # newest version first
        if key in (form.form, form.key):
            return form
    raise KeyError(key)


def write_template(form: Form, out: Path) -> Path:
    """Write `form`'s blank template to `out` (folders made as needed) and return `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    build_template(form).save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m shoplake.surveys.template <form> [--out PATH]`; returns 0, or 2 for an unknown form."""
    keys = sorted({f.form for f in all_forms()} | {f.key for f in all_forms()})
    parser = argparse.ArgumentParser(
        prog="python -m shoplake.surveys.template",
        description="Write a blank survey template workbook (xlsx) generated from a form file: Korean headers "
        "with an English guide row, drop-downs for allowed values, date and number formats, an instructions sheet.",
    )
    parser.add_argument("form", help=f"the form: {', '.join(keys)} (a name alone takes its newest version)")
    parser.add_argument("--out", type=Path, help="where to write it (default .local/templates/<form>.xlsx)")
    args = parser.parse_args(argv)
    try:
        form = find_form(args.form)
    except KeyError:
        parser.error(f"no form {args.form!r}; the forms are {', '.join(keys)}")
    out = write_template(form, args.out or Path(".local/templates") / f"{args.form}.xlsx")
    print(out)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
