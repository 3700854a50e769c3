"""A sheet whose two cells lie at opposite corners of Excel's grid, under a <dimension> of A1.

calamine makes every sheet a dense range, first cell to last: for A1 and XFD1048576 that is 17 billion
cells, and Rust aborts the process when the allocation fails (no exception reaches Python). The file is
5 KB; neither the declared dimension (A1) nor the part's size bounds what calamine allocates: the cell
references written do (`row_order.RowScan.cells_bound`), and such a sheet is streamed instead.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from shoplake.surveys.row_order import COLUMNS_BY_LETTERS, UNBOUNDED_ROWS, scan_rows
from tests.survey_child import assert_ends_as_python, read_in_child


def _sparse_workbook(path: Path) -> Path:
    made = path.with_name("made.xlsx")
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "응답자 ID"
    workbook.active["XFD1048576"] = "x"
    workbook.save(made)
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', data)
            out.writestr(entry, data)
    return path


def test_a_sparse_sheet_spanning_the_grid_is_read_or_refused_without_killing_the_parser(tmp_path: Path) -> None:
    path = _sparse_workbook(tmp_path / "sparse.xlsx")
    assert path.stat().st_size < 10_000
    # WHEN the parser reads it, with no more memory than a parser has
    printed = assert_ends_as_python(read_in_child(path, timeout=300))
    # THEN it ends as Python: refused with a reason (it holds no survey), never the process killed
    assert printed.startswith("refused: no survey form matches this file"), printed


def _part(tmp_path: Path, cells: bytes, before: bytes = b"") -> Path:
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main">' + before + b"<sheetData>" + cells + b"</sheetData></worksheet>"
    )
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(SHEET_PART, sheet)
    return path


SHEET_PART = "xl/worksheets/sheet1.xml"


UNBOUNDED = UNBOUNDED_ROWS * COLUMNS_BY_LETTERS[3]


@pytest.mark.parametrize(
    ("cells", "bound"),
    [
        # rows up to the highest row tag, or what its digits can write (9, 99, ...), times Z, ZZ or ZZZ
        (b'<row r="3"><c r="A3"><v>1</v></c><c r="T3"/></row><row r="7"><c r="B7"/></row>', 9 * 26),
        (b'<row r="1"><c r="A1"/></row><row r="2"><c r="AB2" t="s"><v>0</v></c></row>', 9 * 702),
        (b'<row r="1"><c r="A1"/></row><row r="1048576"><c r="XFD1048576"/></row>', 9_999_999 * 18_278),
        # a reference naming a row beyond what the row tags' digits write: its row is unknown
        (b'<row r="1"><c r="A1"/><c r="XFD1048576"/></row>', UNBOUNDED),
        # a cell without a reference, or with one no cell of Excel's has, may lie anywhere
        (b'<row r="1"><c><v>1</v></c></row>', UNBOUNDED),
        (b'<row r="1"><c r="a1"/></row>', UNBOUNDED),
        (b'<row r="1"><c r="AAAA1"/></row>', UNBOUNDED),
        # an `r` written otherwise than first, or in single quotes, sends the part to the XML parser, which
        # reads each reference whole
        (b'<row r="1"><c t="s" r="A1"><v>0</v></c></row>', 26),
        (b"<row r=\"1\"><c r='A1'/></row>", 26),
        # a prefixed cell, in any namespace, is read by the XML parser, reference and all
        (b'<row r="1"><x:c xmlns:x="urn:x" r="A1"/></row>', 1 * 26),
        (b'<row r="1"><x:c xmlns:x="urn:x" r="XFD1048576"/></row>', 1_048_576 * 18_278),
        (b"", 0),
    ],
    ids=[
        "narrow", "two-letters", "corners", "reference-beyond-rows", "no-reference", "lower-case", "four-letters",
        "r-not-first", "quote", "prefixed", "prefixed-far", "empty",
    ],
)  # fmt: skip
def test_the_grid_a_sheets_cells_span_is_bounded_from_what_is_written(tmp_path: Path, cells: bytes, bound: int) -> None:
    assert scan_rows(_part(tmp_path, cells), SHEET_PART).cells_bound == bound


def test_the_xml_parsers_scan_bounds_the_grid_by_each_reference(tmp_path: Path) -> None:
    # GIVEN a comment before the rows, which sends the part through expat: each reference is read whole
    narrow = _part(tmp_path, b'<row r="2"><c r="C2"/></row><row r="4"><c r="Z4"/></row>', b"<!-- a note -->")
    assert scan_rows(narrow, SHEET_PART).cells_bound == 4 * 26
    far = _part(tmp_path, b'<row r="2"><c r="C2"/></row><row r="9"><c r="XFD1000"/></row>', b"<!-- a note -->")
    assert scan_rows(far, SHEET_PART).cells_bound == 1000 * 18_278
    unreferenced = _part(tmp_path, b'<row r="2"><c/></row>', b"<!-- a note -->")
    assert scan_rows(unreferenced, SHEET_PART).cells_bound == UNBOUNDED


def test_a_cell_after_the_last_tag_the_scan_reads_still_bounds_the_grid(tmp_path: Path) -> None:
    path = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(path, "w") as archive:  # a part cut short right after a far cell
        archive.writestr(SHEET_PART, b'<worksheet><sheetData><row r="1"><c r="A1"/></row><c r="XFD1048576"/>')
    assert scan_rows(path, SHEET_PART).cells_bound == UNBOUNDED
