"""Crafted sheets that got past the dense-range guard (`row_order.RowScan.cells_bound`), or stalled it.

Each file is a few KB, built here, and read in a child process with no more memory than a parser has: a
file the guard lets through to calamine with cells at A1 and XFD1048576 makes calamine allocate 17 billion
cells, and Rust aborts the process (SIGABRT, no exception reaches Python). Each test asserts the process
ends as Python: the file read, or refused with a reason.

Two ways got past the guard: the byte scan did not see a cell calamine reads (a prefix `\\w` does not match,
a second `r` attribute), and the part scanned was not the part calamine reads (the workbook's relationship
to the sheet resolved two ways). And one way stalled it: the row-tag pattern was quadratic.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.survey_child import assert_ends_as_python, read_in_child

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_WORKSHEET = f"{_REL}/worksheet"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)


def _rels(*relationships: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">{"".join(relationships)}</Relationships>'
    )


def _relationship(target: str, rid: str = "rId1", element: str = "Relationship") -> str:
    return f'<{element} Id="{rid}" Type="{_WORKSHEET}" Target="{target}"/>'


def _sheet(cells: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><dimension ref="A1"/>'
        f"<sheetData>{cells}</sheetData></worksheet>"
    )


# One cell at A1: what the guard scans when it scans another part than calamine reads.
SMALL = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>')
# Cells at opposite corners of Excel's grid: 17 billion cells as one dense range.
CORNERS = _sheet('<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')


def _workbook(path: Path, parts: dict[str, str | bytes]) -> Path:
    members: dict[str, str | bytes] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": PACKAGE_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": _rels(_relationship("worksheets/sheet1.xml")),
    }
    members.update(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# Cells the byte scan of the sheet part does not see, which calamine reads and places.
UNSEEN_CELLS = {
    # calamine reads an element by its local name, after the first `:`; `<:c` is a cell to it, and
    # neither `<c(?=[\s/>])` nor `_NOT_PLAIN`'s `<[\w.-]+:c` matches it, so the part stays on the plain scan
    "empty-prefix": '<row r="1"><c r="A1"><v>1</v></c><:c r="XFD1048576"><v>1</v></:c></row>',
    # bytes `\w` is ASCII only: an XML prefix with a letter beyond ASCII hides the cell the same way
    "non-ascii-prefix": '<row r="1"><c r="A1"><v>1</v></c><é:c r="XFD1048576"><v>1</v></é:c></row>',
    # the scan reads the first `r` (` r="B1`); calamine places the cell by the last one
    "second-r-attribute": '<row r="1"><c r="A1"><v>1</v></c><c r="B1" r="XFD1048576"><v>1</v></c></row>',
}


@pytest.mark.parametrize("cells", UNSEEN_CELLS.values(), ids=UNSEEN_CELLS.keys())
def test_a_far_cell_the_byte_scan_does_not_see_does_not_kill_the_parser(tmp_path: Path, cells: str) -> None:
    # GIVEN a sheet whose cells at A1 and XFD1048576 are written so the scan sees only the first
    path = _workbook(tmp_path / "unseen.xlsx", {"xl/worksheets/sheet1.xml": _sheet(cells).encode()})
    # WHEN the parser reads it, THEN it ends as Python
    assert_ends_as_python(read_in_child(path, timeout=30))


# The guard scans `SheetFacts.part` (workbook_facts' reading of the relationships); calamine reads its own.
OTHER_PARTS = {
    # workbook_facts takes every child of <Relationships>, and the last of one Id; calamine only <Relationship>
    "rels-other-element": {
        "xl/_rels/workbook.xml.rels": _rels(
            _relationship("worksheets/corners.xml"), _relationship("worksheets/sheet1.xml", element="Other")
        ),
        "xl/worksheets/sheet1.xml": SMALL,
        "xl/worksheets/corners.xml": CORNERS,
    },
    # "/worksheets/sheet1.xml" is the package's worksheets/sheet1.xml to calamine, xl/worksheets/sheet1.xml to us
    "rels-absolute-target": {
        "xl/_rels/workbook.xml.rels": _rels(_relationship("/worksheets/sheet1.xml")),
        "xl/worksheets/sheet1.xml": SMALL,
        "worksheets/sheet1.xml": CORNERS,
    },
    # a relative "xl/worksheets/sheet1.xml" is xl/xl/worksheets/sheet1.xml to calamine, xl/worksheets/... to us
    "rels-target-starting-xl": {
        "xl/_rels/workbook.xml.rels": _rels(_relationship("xl/worksheets/sheet1.xml")),
        "xl/worksheets/sheet1.xml": SMALL,
        "xl/xl/worksheets/sheet1.xml": CORNERS,
    },
    # calamine reads the attribute written `r:id` whatever `r` is bound to; we read the relationships namespace's
    "sheet-id-prefix": {
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:q="{_REL}" xmlns:r="urn:other">'
            '<sheets><sheet name="S" sheetId="1" q:id="rId1" r:id="rId2"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": _rels(
            _relationship("worksheets/sheet1.xml"), _relationship("worksheets/corners.xml", rid="rId2")
        ),
        "xl/worksheets/sheet1.xml": SMALL,
        "xl/worksheets/corners.xml": CORNERS,
    },
}


@pytest.mark.parametrize("parts", OTHER_PARTS.values(), ids=OTHER_PARTS.keys())
def test_the_part_calamine_reads_is_the_part_the_guard_scans(tmp_path: Path, parts: dict[str, str]) -> None:
    # GIVEN a workbook whose sheet relationship names a one-cell part to us and a grid-spanning one to calamine
    path = _workbook(tmp_path / "other.xlsx", dict(parts))
    # WHEN the parser reads it, THEN it ends as Python
    assert_ends_as_python(read_in_child(path, timeout=30))


def test_row_tags_left_open_do_not_stall_the_scan(tmp_path: Path) -> None:
    # GIVEN a damaged part, just under 1 MB (no ratio check): 199,000 `<row ` with no `>`, then the part ends
    sheet = _sheet('<row r="1"><c r="A1"><v>1</v></c></row>').removesuffix("</sheetData></worksheet>")
    sheet += "<row " * 199_000
    path = _workbook(tmp_path / "open-rows.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    assert path.stat().st_size < 5_000
    # WHEN the parser reads it, THEN it is read or refused in seconds (a linear scan takes well under one)
    assert_ends_as_python(read_in_child(path, timeout=3.5))
