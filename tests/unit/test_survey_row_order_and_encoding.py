"""Row numbers as written (`row_order`) and XML parts in other encodings than UTF-8 (`xml_encoding`),
read alike by both readers; and the ZIP packages no reader can open, refused before either tries."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from shoplake.surveys.forms import Limits
from shoplake.surveys.row_order import MAX_RUNS, RowOrderError, row_number, row_runs
from shoplake.surveys.workbook import Refused, open_workbook
from shoplake.surveys.xml_encoding import part_encoding
from tests.spreadsheetml import data_row, workbook

pytestmark = [pytest.mark.filterwarnings("ignore:Workbook contains no default style:UserWarning")]
BUDGETS = pytest.mark.parametrize("budget", [1 << 30, 0], ids=["calamine", "streaming"])
SHEET = "xl/worksheets/sheet1.xml"


def _rows(path: Path, budget: int) -> list[tuple[int, object]]:
    sheets, _ = open_workbook(path, Limits(), budget, path.parent)
    return [(number, row[0] if row else None) for number, row in sheets[0].rows]


def _reverse_rows(parts: dict[str, bytes]) -> None:
    """Every data row written after the next one: as many runs as rows."""
    sheet = parts[SHEET].decode()
    rows = re.findall(r"<row .*?</row>", sheet)
    parts[SHEET] = sheet.replace("".join(rows), rows[0] + "".join(reversed(rows[1:]))).encode()


@BUDGETS
def test_rows_written_in_reverse_are_read_in_the_order_of_their_numbers(tmp_path: Path, budget: int) -> None:
    # GIVEN the data rows written last first (each its own run for the streaming reader)
    path = workbook(tmp_path / "reverse.xlsx", [data_row(n) for n in range(1, 6)], damage=_reverse_rows)
    # WHEN read, THEN rows come by number, each respondent at its own row
    assert _rows(path, budget)[1:] == [(n + 1, f"R{n}") for n in range(1, 6)]


@BUDGETS
def test_rows_out_of_order_too_many_times_are_refused_by_both_readers(tmp_path: Path, budget: int) -> None:
    # GIVEN more ascending runs than the streaming reader makes passes
    path = workbook(tmp_path / "many.xlsx", [data_row(n) for n in range(1, MAX_RUNS + 3)], damage=_reverse_rows)
    # WHEN read, THEN refused, saying how to mend it
    with pytest.raises(Refused, match=r"out of order more than 32 times.*save it again"):
        _rows(path, budget)


@BUDGETS
def test_a_row_numbered_beyond_excel_is_refused_naming_it(tmp_path: Path, budget: int) -> None:
    def beyond(parts: dict[str, bytes]) -> None:
        parts[SHEET] = parts[SHEET].replace(b'<row r="3">', b'<row r="2000000">')

    path = workbook(tmp_path / "beyond.xlsx", [data_row(n) for n in range(1, 4)], damage=beyond)
    with pytest.raises(Refused, match="numbered 2000000") as refused:
        _rows(path, budget)
    assert refused.value.row == 2_000_000


@pytest.mark.parametrize(("written", "previous", "number"), [(None, 4, 5), ("7", 4, 7), ("7.0", 4, 7), (" 7", 4, 7)])
def test_a_row_number_is_read_as_openpyxl_reads_it(written: str | None, previous: int, number: int) -> None:
    assert row_number(written, previous) == number


@pytest.mark.parametrize("written", ["7.5", "seven", "0", "-1", "1048577"])
def test_a_row_number_no_row_of_excel_has_is_refused(written: str) -> None:
    with pytest.raises(RowOrderError):
        row_number(written, 0)


@BUDGETS
@pytest.mark.parametrize("encoding", ["EUC-KR", "cp949", "UTF-16"])
def test_a_sheet_in_a_korean_encoding_is_read_as_its_text(tmp_path: Path, budget: int, encoding: str) -> None:
    # GIVEN a sheet holding Korean text, written in EUC-KR (or cp949, UTF-16) and declaring it
    def encoded(parts: dict[str, bytes]) -> None:
        text = parts[SHEET].decode().replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)
        parts[SHEET] = text.replace("R2<", "응답2<").encode(encoding)

    path = workbook(tmp_path / "korean.xlsx", [data_row(n) for n in range(1, 4)], damage=encoded)
    # WHEN read, THEN the text is the Korean written
    assert [cell for _, cell in _rows(path, budget)[1:]] == ["R1", "응답2", "R3"]


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b'<?xml version="1.0" encoding="UTF-8"?><a/>', "utf-8"),
        (b'<?xml version="1.0"?><a/>', "utf-8"),
        (b"<a/>", "utf-8"),
        (b"\xef\xbb\xbf<?xml version='1.0' encoding='utf8'?>", "utf-8"),
        (b'<?xml version="1.0" encoding="euc-kr"?>', "euc_kr"),
        (b"\xff\xfe<\x00?\x00", "utf-16"),
        (b"<\x00?\x00x\x00", "utf-16-le"),
    ],
)
def test_a_parts_encoding_is_read_from_its_head(head: bytes, encoding: str) -> None:
    assert part_encoding(head) == encoding


@pytest.mark.parametrize("name", ["zlib", "base64", "rot13"])
def test_a_declared_codec_that_is_no_text_encoding_is_refused(name: str) -> None:
    # A bytes-to-bytes codec (zlib) would inflate the part unbounded: it is never decoded.
    with pytest.raises(ValueError, match="not a text encoding"):
        part_encoding(f'<?xml version="1.0" encoding="{name}"?>'.encode())


def test_a_workbook_encrypted_by_excel_is_refused_saying_how_to_remove_the_password(tmp_path: Path) -> None:
    # GIVEN what Excel writes for "Encrypt with Password": an OLE compound file, not a ZIP
    path = tmp_path / "encrypted.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504))
    with pytest.raises(Refused, match=r"password-protected.*File > Info > Protect Workbook"):
        open_workbook(path, Limits(), 1 << 30, tmp_path)


def test_the_helpers_write_what_they_say(tmp_path: Path) -> None:
    path = workbook(tmp_path / "reverse.xlsx", [data_row(n) for n in range(1, 4)], damage=_reverse_rows)
    with zipfile.ZipFile(path) as archive:
        numbers = re.findall(rb'<row r="(\d+)"', archive.read(SHEET))
    assert numbers == [b"1", b"4", b"3", b"2"]


@pytest.mark.parametrize(
    "noise",
    [
        b"<!-- <row r='2'/> -->",  # a comment holding a row tag
        b"<![CDATA[<row r='2'/>]]>",
        b"<?shoplake <row r='2'/> ?>",  # a processing instruction holding one
        b"",  # nothing: only the `>` inside row 2's attribute
    ],
)
def test_what_could_hide_a_row_tag_is_read_by_the_xml_parser(tmp_path: Path, noise: bytes) -> None:
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData><row r="1"/>' + noise + b'<row r="3"/><row r="2" spans=">"/>'
        b"</sheetData></worksheet>"
    )
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    # the rows are 1, 3, 2: two ascending runs; nothing in the noise is counted as a row
    assert row_runs(path, "xl/worksheets/sheet1.xml") == [(0, 2), (2, 3)]
