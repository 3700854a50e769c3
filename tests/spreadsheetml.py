"""Workbooks written as raw SpreadsheetML parts, for the survey tests: the shapes openpyxl cannot write.

One sheet `응답` in a package of the parts both readers need (ECMA-376 Part 1: content types and
relationships from Part 2, the workbook 18.2, styles 18.8, shared strings 18.4, the sheet 18.3). `package_parts`
builds the package around a sheet; `workbook` writes the review builder's survey workbook (the Korean header
as shared strings, then rows of `data_row` cells), which a test may damage part by part before it is zipped.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from local_stack.sample_surveys import KOREAN_HEADERS
from shoplake.surveys.workbook import column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET = "xl/worksheets/sheet1.xml"
# The review builder's cell styles: 0 General, 1 a date and time (built-in 22), 2 the Korean built-in date 31
# (`yyyy"년" mm"월" dd"일"`, ECMA-376 Part 1, 18.8.30: ids 27-36 and 50-58 are CJK dates, no formatCode written).
REVIEW_XFS = (0, 22, 31)
# A part's damage: edits the parts, by name, before they are zipped.
Damage = Callable[[dict[str, bytes]], None]


def package_parts(
    *, sheet: str, shared_strings: str, cell_formats: str, number_formats: str = "", workbook_properties: str = ""
) -> dict[str, bytes]:
    """The parts of a one-sheet workbook, each with the XML declaration, by part name.

    `sheet` is the `<worksheet>` element, `shared_strings` the `<sst>` element, `cell_formats` the `<cellXfs>`
    element (and any `<cellStyles>` after it), `number_formats` a `<numFmts>` element or nothing, and
    `workbook_properties` a `<workbookPr>` element or nothing.
    """
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}">{workbook_properties}'
        '<sheets><sheet name="응답" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{RELS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet xmlns="{MAIN}">{number_formats}'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f"{cell_formats}</styleSheet>",
        "xl/sharedStrings.xml": shared_strings,
        SHEET: sheet,
    }
    return {name: (DECLARATION + xml).encode() for name, xml in parts.items()}


def write_parts(parts: dict[str, bytes], path: Path) -> Path:
    """Zip `parts` (name -> bytes), deflated, in their order, to `path`; returns `path`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def inline(text: str) -> str:
    """An inline-string cell holding `text` (XML already), its reference left as `{ref}` for `sheet_xml`."""
    return f'<c r="{{ref}}" t="inlineStr"><is><t>{text}</t></is></c>'


def data_row(number: int, comment_cell: str | None = None) -> list[str]:
    """Respondent `R<number>`'s answers as the review builder's cells (style 1: the date and time);
    `comment_cell` in place of the last one, the comment."""
    return [
        inline(f"R{number}"),
        '<c r="{ref}" s="1"><v>46346.37847222222</v></c>',  # 2026-11-20 09:05 in Seoul
        inline("지하철"),
        inline("2026-11"),
        inline("20대"),
        inline("여성"),
        inline("KR"),
        inline("서울"),
        inline("상의"),
        '<c r="{ref}"><v>3</v></c>',
        '<c r="{ref}"><v>7</v></c>',
        comment_cell or inline("좋아요"),
    ]


def sheet_xml(rows: list[list[str]], dimension: str | None) -> str:
    """The `<worksheet>` element of `rows` of cells (from row 1, column A), declaring `dimension` if given."""
    body = []
    for number, cells in enumerate(rows, start=1):
        filled = "".join(cell.replace("{ref}", f"{column_letter(i)}{number}") for i, cell in enumerate(cells))
        body.append(f'<row r="{number}">{filled}</row>')
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<worksheet xmlns="{MAIN}">{declared}<sheetData>{"".join(body)}</sheetData></worksheet>'


def workbook(
    path: Path,
    data: list[list[str]],
    *,
    dimension: str | None = "",
    damage: Damage | None = None,
    cell_styles: Sequence[int] = REVIEW_XFS,
) -> Path:
    """A one-sheet workbook `응답`: the Korean header as shared strings, then `data` rows; `damage` edits the parts.

    `dimension` "" declares the rows' whole range, None declares none; `cell_styles` are the cell styles'
    number format ids, by style index.
    """
    rows = [[f'<c r="{{ref}}" t="s"><v>{i}</v></c>' for i in range(len(KOREAN_HEADERS))], *data]
    last = f"{column_letter(len(KOREAN_HEADERS) - 1)}{len(rows)}"
    xfs = "".join(
        f'<xf numFmtId="{f}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' for f in cell_styles
    )
    parts = package_parts(
        sheet=sheet_xml(rows, dimension if dimension != "" else f"A1:{last}"),
        shared_strings=f'<sst xmlns="{MAIN}">' + "".join(f"<si><t>{h}</t></si>" for h in KOREAN_HEADERS) + "</sst>",
        cell_formats=f'<cellXfs count="{len(cell_styles)}">{xfs}</cellXfs>',
    )
    if damage is not None:
        damage(parts)
    return write_parts(parts, path)


def truncate_sheet(parts: dict[str, bytes]) -> None:
    """A damage: the sheet's XML cut off 300 bytes before its end, mid-tag."""
    parts[SHEET] = parts[SHEET][:-300]
