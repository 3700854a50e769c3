"""Damaged and oddly declared workbooks: refused with the damage named, or read alike by both readers.

Workbooks are built by the review builder (raw SpreadsheetML parts, `tests/spreadsheetml.py`), then damaged
the ways a cut-off upload, a broken writer or a crafted file leaves them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from shoplake.surveys.forms import Limits, all_forms
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.workbook import CALAMINE_BYTES_PER_CELL, Refused, open_workbook
from tests.spreadsheetml import data_row, truncate_sheet, workbook

pytestmark = [
    pytest.mark.filterwarnings("ignore:Workbook contains no default style:UserWarning"),
    pytest.mark.filterwarnings("ignore:Cell .* is marked as a date:UserWarning"),
]
FORMS = all_forms()
PLENTY = 1 << 30
BUDGETS = pytest.mark.parametrize("budget", [PLENTY, 0], ids=["calamine", "streaming"])


def _read(path: Path, budget: int) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", FORMS, budget)


def _flip_a_byte_in_the_compressed_sheet(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    body = bytearray(path.read_bytes())
    # The member's data starts after its 30-byte local header, name and extra field.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    body[start + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(body))


@BUDGETS
def test_a_flipped_byte_in_the_compressed_sheet_refuses_the_file_saying_save_it_again(
    tmp_path: Path, budget: int
) -> None:
    # GIVEN a workbook whose sheet was damaged in transit (an inflate or CRC error)
    path = workbook(tmp_path / "flipped.xlsx", [data_row(n) for n in range(1, 200)])
    _flip_a_byte_in_the_compressed_sheet(path)
    # WHEN it is read, THEN it is refused, saying it looks damaged and how to mend it
    with pytest.raises(Refused, match=r"looks damaged.*save it again"):
        _read(path, budget)


@BUDGETS
def test_a_sheet_cut_short_is_refused_naming_the_sheet_the_part_and_the_error(tmp_path: Path, budget: int) -> None:
    # GIVEN a workbook whose sheet XML ends mid-tag
    path = workbook(tmp_path / "cut.xlsx", [data_row(n) for n in range(1, 6)], damage=truncate_sheet)
    # WHEN it is read
    with pytest.raises(Refused) as refused:
        _read(path, budget)
    # THEN the refusal names the sheet, the part and the error's kind (a fault of ours would show its own type)
    assert refused.value.sheet == "응답"
    assert "xl/worksheets/sheet1.xml" in refused.value.reason
    assert "Error" in refused.value.reason
    assert "open it in Excel, save it again" in refused.value.reason


@BUDGETS
def test_a_boolean_cell_no_reader_can_read_refuses_the_file_with_either_reader(tmp_path: Path, budget: int) -> None:
    comment = '<c r="{ref}" t="b"><v>yes</v></c>'
    path = workbook(tmp_path / "bool.xlsx", [data_row(1, comment_cell=comment)])
    with pytest.raises(Refused, match="a boolean cell holds 'yes'"):
        _read(path, budget)


def test_a_one_cell_dimension_is_the_range_from_a1(tmp_path: Path) -> None:
    # GIVEN a small sheet whose dimension names one cell, as LibreOffice writes it: L5000 means A1:L5000
    path = workbook(tmp_path / "libre.xlsx", [data_row(n) for n in range(1, 4)], dimension="L5000")
    cells = 5000 * 12
    # WHEN the reader is chosen, THEN the sheet counts as 60,000 cells
    assert open_workbook(path, Limits(), cells * CALAMINE_BYTES_PER_CELL, tmp_path)[1] == "calamine"
    assert open_workbook(path, Limits(), cells * CALAMINE_BYTES_PER_CELL - 1, tmp_path)[1] == "openpyxl-streaming"


@pytest.mark.parametrize("declared", ["yes", "TRUE", " true "])
def test_an_invalid_date1904_is_the_1900_date_system_with_either_reader(tmp_path: Path, declared: str) -> None:
    # GIVEN a workbook whose date1904 is no xsd:boolean true (only "1" and "true" are)
    def date1904(parts: dict[str, bytes]) -> None:
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
            b"<sheets>", f'<workbookPr date1904="{declared}"/><sheets>'.encode()
        )

    path = workbook(tmp_path / "epoch.xlsx", [data_row(1)], damage=date1904)
    # WHEN it is read by either reader, THEN the answer is dated in 2026, as the 1900 system reads it
    for budget in (PLENTY, 0):
        parsed = _read(path, budget)
        assert (parsed.rows, [day.year for day in parsed.partitions]) == (1, [2026])


def test_a_time_of_day_in_an_iso_cell_reads_the_same_with_either_reader(tmp_path: Path) -> None:
    # GIVEN an answer whose submitted-at cell is an ISO time of day alone (t="d", ECMA-376 18.18.11)
    def time_only(parts: dict[str, bytes]) -> None:
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        parts["xl/worksheets/sheet1.xml"] = sheet.replace(
            '<c r="B2" s="1"><v>46346.37847222222</v></c>', '<c r="B2" t="d"><v>09:05:41</v></c>'
        ).encode()

    path = workbook(tmp_path / "time.xlsx", [data_row(1), data_row(2)], damage=time_only)
    # WHEN it is read by either reader, THEN the same row is rejected with the same message
    fast, streamed = _read(path, PLENTY), _read(path, 0)
    assert [p.as_dict() for p in fast.problems] == [p.as_dict() for p in streamed.problems]
    assert [p.row for p in fast.problems] == [2]
