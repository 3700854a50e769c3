"""Attack review 15c of survey ingestion (damaged workbooks, dates as text, CSV quoting): each strict xfail
is a fault found, failing until the lead fixes it.

Workbooks are written as raw SpreadsheetML parts by the review builder (`tests/spreadsheetml.py`), then damaged
or reshaped the ways a broken writer, a re-zipping tool or a crafted file leaves them.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplake.surveys.datetime_text import DateTimeTextError, parse_datetime_text
from shoplake.surveys.forms import Limits, all_forms
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.workbook import Refused, open_workbook
from tests.spreadsheetml import REVIEW_XFS, data_row, workbook

pytestmark = [
    pytest.mark.filterwarnings("ignore:Workbook contains no default style:UserWarning"),
    pytest.mark.filterwarnings("ignore:Cell .* is marked as a date:UserWarning"),
]
FORMS = all_forms()
PLENTY = 1 << 30
BUDGETS = pytest.mark.parametrize("budget", [PLENTY, 0], ids=["calamine", "streaming"])
SHEET = "xl/worksheets/sheet1.xml"


def _read(path: Path, budget: int = PLENTY) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", FORMS, budget)


def _ids(parsed: Parsed) -> list[str]:
    tables = [pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values()]
    return sorted(pa.concat_tables(tables).column("respondent_id").to_pylist())


_ROW_3_TWICE = (
    "the sheet's rows are numbered in a way Excel never writes: row 3 is written twice in the sheet; "
    "open it in Excel, save it again (File > Save As, Excel Workbook), and upload the saved copy"
)


def _set_zip_field(path: Path, field: str, value: int) -> None:
    """Set a field of every local header and central directory entry: `flags` |= value, or `method` = value."""
    body = bytearray(path.read_bytes())
    for signature, flags_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (found := body.find(signature, start)) >= 0:
            if field == "flags":
                body[found + flags_at] |= value
            else:
                body[found + method_at] = value
            start = found + 4
    path.write_bytes(bytes(body))


def _first_ids(path: Path, budget: int) -> list[tuple[int, object]]:
    sheets, _ = open_workbook(path, Limits(), budget, path.parent)
    return [(number, row[0] if row else None) for number, row in sheets[0].rows]


def _swap_rows_4_and_5(parts: dict[str, bytes]) -> None:
    """Rows 4 and 5 written in the wrong order (ECMA-376 asks for ascending rows; a crafted file need not)."""
    sheet = parts[SHEET].decode()
    four = re.search(r'<row r="4">.*?</row>', sheet)
    five = re.search(r'<row r="5">.*?</row>', sheet)
    assert four and five
    parts[SHEET] = sheet.replace(four[0], "@4@").replace(five[0], four[0]).replace("@4@", five[0]).encode()


# ---------------------------------------------------------------- 1. reader errors still escaping `ingest`


@BUDGETS
def test_a_workbook_whose_zip_members_are_encrypted_is_refused_not_a_crash(tmp_path: Path, budget: int) -> None:
    # GIVEN a workbook re-zipped with a password (ZipCrypto: the members' "encrypted" flag set)
    path = workbook(tmp_path / "zipcrypto.xlsx", [data_row(n) for n in range(1, 4)])
    _set_zip_field(path, "flags", 0x01)
    # WHEN it is read, THEN it is refused (quarantined with a report), not a RuntimeError out of `ingest`
    with pytest.raises(Refused, match=r"password|encrypted"):
        _read(path, budget)


@BUDGETS
def test_a_workbook_compressed_with_deflate64_is_refused_not_a_crash(tmp_path: Path, budget: int) -> None:
    # GIVEN a workbook re-zipped by a tool using Deflate64 (method 9; Windows Explorer and 7-Zip write it)
    path = workbook(tmp_path / "deflate64.xlsx", [data_row(n) for n in range(1, 4)])
    _set_zip_field(path, "method", 9)
    # WHEN it is read, THEN it is refused saying how to mend it, not a NotImplementedError out of `ingest`
    with pytest.raises(Refused, match="save it again"):
        _read(path, budget)


@BUDGETS
@pytest.mark.parametrize("part", ["xl/workbook.xml", SHEET, "xl/sharedStrings.xml", "xl/styles.xml"])
def test_a_part_declaring_an_unknown_xml_encoding_is_refused_not_a_crash(
    tmp_path: Path, budget: int, part: str
) -> None:
    # GIVEN a part whose XML declaration names an encoding Python does not know (openpyxl raised LookupError)
    def unknown_encoding(parts: dict[str, bytes]) -> None:
        parts[part] = parts[part].replace(b'encoding="UTF-8"', b'encoding="x-unknown"', 1)

    path = workbook(tmp_path / "encoding.xlsx", [data_row(n) for n in range(1, 4)], damage=unknown_encoding)
    # WHEN it is read, THEN it is read (calamine ignores the declaration) or refused; never a crash
    try:
        _read(path, budget)
    except Refused as refused:
        assert "save it again" in refused.reason


def test_a_sheet_declaring_euc_kr_is_read_alike_by_both_readers(tmp_path: Path) -> None:
    # GIVEN a sheet whose declaration says EUC-KR (a Korean writer's), its text ASCII
    def euc_kr(parts: dict[str, bytes]) -> None:
        parts[SHEET] = parts[SHEET].replace(b'encoding="UTF-8"', b'encoding="EUC-KR"', 1)

    path = workbook(tmp_path / "euckr.xlsx", [data_row(n) for n in range(1, 4)], damage=euc_kr)

    def outcome(budget: int) -> object:
        try:
            return _read(path, budget).rows
        except Refused:
            return "refused"

    # WHEN each reader reads it, THEN they agree (calamine ingests 3 rows, openpyxl refuses the file)
    assert outcome(PLENTY) == outcome(0)


# ---------------------------------------------------------------- 2. the hand-over and row numbering


def test_the_hand_over_from_calamine_to_openpyxl_repeats_no_row(tmp_path: Path) -> None:
    # GIVEN rows written out of order (5 before 4), and in row 5 a duration calamine cannot make a timedelta of
    rows = [data_row(n) for n in range(1, 8)]
    rows[3] = data_row(4, comment_cell='<c r="{ref}" s="3"><v>1e20</v></c>')
    durations = (*REVIEW_XFS, 46)  # style 3: [h]:mm:ss
    path = workbook(tmp_path / "handover.xlsx", rows, damage=_swap_rows_4_and_5, cell_styles=durations)
    # WHEN calamine reads rows 1-4, fails at row 5, and openpyxl goes on from there
    read = [str(cell) for _, cell in _first_ids(path, PLENTY) if cell]
    # THEN every respondent is read once (observed: R3 twice, at rows 4 and 6)
    assert sorted(read) == sorted(set(read))


def test_rows_written_out_of_order_keep_their_row_numbers_in_the_streaming_reader(tmp_path: Path) -> None:
    # GIVEN rows 4 and 5 written in the wrong order
    path = workbook(tmp_path / "order.xlsx", [data_row(n) for n in range(1, 8)], damage=_swap_rows_4_and_5)
    # WHEN each reader reads it, THEN both give R3 at row 4 (observed: openpyxl gives row 4 empty, R3 at row 6)
    assert _first_ids(path, 0) == _first_ids(path, PLENTY)


def test_two_rows_of_one_number_are_read_alike_by_both_readers(tmp_path: Path) -> None:
    # GIVEN row 3 written twice, R2 then R2bis (a crafted or badly merged file)
    def doubled(parts: dict[str, bytes]) -> None:
        sheet = parts[SHEET].decode()
        three = re.search(r'<row r="3">.*?</row>', sheet)
        assert three
        parts[SHEET] = sheet.replace(three[0], three[0] + three[0].replace(">R2<", ">R2bis<")).encode()

    path = workbook(tmp_path / "doubled.xlsx", [data_row(n) for n in range(1, 8)], damage=doubled)

    def outcome(budget: int) -> object:
        try:
            return _ids(_read(path, budget))
        except Refused as refused:
            return refused.reason, refused.row

    # WHEN each reader reads it, THEN they give the same answer (observed: calamine dropped R2 silently):
    # the file is refused naming row 3, since keeping either row would lose the other's answers
    assert outcome(PLENTY) == outcome(0)
    assert outcome(0) == (_ROW_3_TWICE, 3)


# ---------------------------------------------------------------- 3. dates written as text


@pytest.mark.parametrize(
    "text", ["2026-11-20 09:05 GMT+9 (토)", "2026-11-20 09:05 +09:00 (Sat)", "2026-11-20 09:05Z (Sat)"]
)
def test_a_contradicting_weekday_in_parentheses_after_an_offset_is_refused(text: str) -> None:
    # GIVEN a Friday written with the weekday Saturday after its offset, WHEN read, THEN refused naming both
    with pytest.raises(DateTimeTextError, match="says Saturday, but 2026-11-20 is a Friday"):
        parse_datetime_text(text)


@pytest.mark.parametrize("text", ["2026-11-20 9:00-10:00", "2026. 11. 20. 오전 9:00-10:00", "11/20/2026 9:00-10:00"])
def test_a_time_slot_is_not_read_as_a_time_at_an_offset(text: str) -> None:
    # GIVEN a visit's time slot, 9 to 10 o'clock (observed: 09:00 at UTC-10:00, 19 hours from Seoul's 09:00)
    # WHEN read, THEN it is refused (a slot is not an instant), not a wrong instant
    with pytest.raises(DateTimeTextError):
        parse_datetime_text(text)


def test_a_date_cell_with_a_long_run_of_spaces_is_read_in_well_under_a_second() -> None:
    # GIVEN a 5,000-character cell: a date, spaces, a time (a padded export; any uploader can type one)
    text = "2026-11-20" + " " * 5000 + "09:05"
    # WHEN it is read (observed: 2.3 s; 10,000 characters, the cell limit, 9.9 s: one column of them times out)
    started = time.perf_counter()
    with contextlib.suppress(DateTimeTextError):
        parse_datetime_text(text)
    # THEN it takes milliseconds
    assert time.perf_counter() - started < 0.2


# ---------------------------------------------------------------- 4. CSV: rows swallowed by an open quote

_HEADER = (
    "Respondent ID,Submitted at,Channel,First heard on,Age group,Gender,Country,Region,"
    "Preferred categories,Satisfaction,NPS,Comment"
)


def test_rows_swallowed_by_a_quote_left_open_are_never_ingested_silently(tmp_path: Path) -> None:
    # GIVEN R1's comment opening a quote never closed, until R3's comment ends in an inch mark (55")
    # and R2, R3 answering the optional questions R1 left empty
    lines = [
        _HEADER,
        'R1,2026-11-20 09:05,TV,,20대,여성,KR,,,5,9,"Great shop',
        "R2,2026-11-21 10:15,지하철,2026-10,30대,남성,KR,경기 남부,상의/하의,4,8,ok",
        'R3,2026-11-22 11:00,TV,2026-09,40대,여성,KR,서울 강남,신발,5,10,bought a 55"',
        "R4,2026-11-23 12:00,TV,,20대,여성,KR,,,3,5,fine",
    ]
    path = tmp_path / "swallowed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # WHEN it is read
    try:
        parsed = _read(path)
    except Refused:
        return  # THEN it is refused (the docs: "a quote left open that swallowed rows is refused")
    # ... or every respondent is a row (observed: R1 and R4 ingested, R2 and R3 inside R1's comment, no problem)
    assert _ids(parsed) == ["R1", "R2", "R3", "R4"]


def test_a_nul_in_a_csv_with_cr_line_endings_is_placed_on_its_line(tmp_path: Path) -> None:
    # GIVEN a CSV from Excel for Mac (CR line endings) with a NUL on line 3
    row = "R{n},2026-11-21 10:15,TV,,20대,여성,KR,,,5,9,ok"
    path = tmp_path / "cr.csv"
    path.write_bytes(("\r".join([_HEADER, row.format(n=1), row.format(n="2\x00")]) + "\r").encode())
    # WHEN it is read, THEN the refusal names line 3 (observed: line 1)
    with pytest.raises(Refused, match="the first is on line 3"):
        _read(path)


def test_zip_field_helper_finds_members(tmp_path: Path) -> None:
    # The helper above edits every member: the damage tests test what they say.
    path = workbook(tmp_path / "plain.xlsx", [data_row(1)])
    _set_zip_field(path, "flags", 0x01)
    with zipfile.ZipFile(path) as archive:
        assert all(info.flag_bits & 0x01 for info in archive.infolist())
